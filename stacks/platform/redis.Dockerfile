# The platform's Redis: Debian bookworm's redis-server on a base made by
# mmdebstrap (no registry; built by `sparkswarm images build redis`).
# The entrypoint (redis-entrypoint.sh) comes from the stack as a config.
ARG BASE=sparkswarm/redis-base:bookworm
FROM ${BASE}
RUN mkdir -p /data && chown redis:redis /data
LABEL org.sparkswarm.built-locally=true
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "yes"]
