// Package didyoumean finds the word a user probably meant, for the "did you
// mean …?" part of configuration and rule errors.
package didyoumean

import "strings"

// Closest returns the candidate closest to word (case-insensitively) if it
// is close enough to be a likely typo, or "".
func Closest(word string, candidates []string) string {
	best, bestDist := "", -1
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := Distance(lw, strings.ToLower(c))
		if d <= MaxTypos(word) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// Similar reports whether a and b are the same word up to a small typo,
// ignoring case.
func Similar(a, b string) bool {
	return Distance(strings.ToLower(a), strings.ToLower(b)) <= MaxTypos(a)
}

// MaxTypos is how many edits still count as a typo: none for one- and
// two-letter words, where any edit gives another word, and up to two for
// long ones.
func MaxTypos(word string) int {
	switch n := len(word); {
	case n <= 2:
		return 0
	case n <= 5:
		return 1
	}
	return 2
}

// Distance is the Levenshtein distance between a and b, with a swap of two
// adjacent letters counted as one edit (the optimal string alignment
// variant), since "adress" and "Hots" are both common. Words longer than 64
// bytes are never close: the cost is quadratic and such words are not typos.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows are enough: a transposition looks two rows back.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
