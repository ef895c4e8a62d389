# berth as a static binary in an empty image. Build the binary first:
#   make image        (runs `make build`, then `docker build -t berth .`)
# The binary embeds CA roots (golang.org/x/crypto/x509roots/fallback), so
# the image needs no certificate bundle.
FROM scratch
COPY bin/berth /berth
# Not root. Entrypoints inside the container listen on high ports (8000,
# 8443, 8080), which needs no capability; publish them on 80/443 with
# `ports:`. Reading /var/run/docker.sock needs its group: see `group_add:`
# in docker-compose.yml, or run with `user: root` (docs/docker.md).
USER 65534:65534
EXPOSE 8000 8443 8080
# Asks /ping on the "traefik" entrypoint (:8080 by default). It reads the
# same BERTH_*/TRAEFIK_* environment as the running berth, so keep ping on
# :8080 or set the entrypoint address through the environment.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/berth", "healthcheck", "--ping=true"]
ENTRYPOINT ["/berth"]
