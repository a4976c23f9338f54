# Prometheus for `sparkswarm platform up --monitoring`: Debian bookworm's
# prometheus package on a base made by mmdebstrap (no registry; built by
# `sparkswarm images build prometheus`). Its configuration comes from the
# stack as a swarm config (prometheus.yml); its data lives on a volume.
ARG BASE=sparkswarm/prometheus-base:bookworm
FROM ${BASE}
RUN mkdir -p /prometheus && chown prometheus:prometheus /prometheus
LABEL org.sparkswarm.built-locally=true
USER prometheus
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
