// Command backend is a deliberately minimal HTTP/1.1 origin used by
// bench/run.sh. It answers every request with the 13-byte body
// "Hello, world\n" over keep-alive connections.
//
// It is a raw TCP server rather than net/http so that it costs as little CPU
// as possible: it competes with the proxy under test and with wrk for the same
// cores. It scans the byte stream for "\r\n\r\n" to find request heads
// (benchmark requests carry no body), supports pipelining by answering every
// complete head found in a read with one batched write, and closes the
// connection only when the client does.
package main

import (
	"bytes"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

const body = "Hello, world\n"

var response = []byte("HTTP/1.1 200 OK\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Length: 13\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n" + body)

var terminator = []byte("\r\n\r\n")

// maxHead bounds how many bytes of an unfinished request head we keep
// around before declaring the peer broken.
const maxHead = 64 << 10

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (host:port)")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("backend: listen %s: %v", *addr, err)
	}
	log.Printf("backend: listening on %s", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			log.Printf("backend: accept: %v", err)
			return
		}
		go serve(c)
	}
}

func serve(c net.Conn) {
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	buf := make([]byte, 16<<10)
	out := make([]byte, 0, 16*len(response))
	n := 0 // bytes of unconsumed input at buf[:n]
	for {
		if n == len(buf) {
			if len(buf) >= maxHead {
				return // oversized head: give up on this peer
			}
			nb := make([]byte, 2*len(buf))
			copy(nb, buf[:n])
			buf = nb
		}
		m, err := c.Read(buf[n:])
		if m > 0 {
			// Search all unconsumed input: a partial head left over from
			// the previous read (including a split "\r\n\r\n") is kept
			// at the front of buf and rescanned.
			n += m
			start := 0
			out = out[:0]
			for {
				i := bytes.Index(buf[start:n], terminator)
				if i < 0 {
					break
				}
				start += i + len(terminator)
				out = append(out, response...)
			}
			if start > 0 {
				n = copy(buf, buf[start:n])
			}
			if len(out) > 0 {
				if _, werr := c.Write(out); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
