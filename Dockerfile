# berthd's container image: a static berthd on an empty base (no shell, no
# package manager), running as a non-root user, its data in the volume
# /data. The build context is a directory holding a berthd built with
# CGO_ENABLED=0 for the image's platform, the CA certificates (for service
# brokers served over HTTPS) and an empty data/ directory; `make image`
# prepares it and builds the image:
#
#   make image                     # berthd:dev
#   docker run -d --name berthd -p 8080:8080 -v berth-data:/data berthd:dev
#   docker logs berthd             # the first start prints the admin token
FROM scratch

COPY berthd /usr/local/bin/berthd
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The volume starts as the image's /data: owned by the user berthd runs as.
COPY --chown=65532:65532 data/ /data/

USER 65532:65532
ENV BERTH_LISTEN=0.0.0.0:8080 \
    BERTH_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# `berthd healthcheck` GETs /healthz on the address of BERTH_LISTEN.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/berthd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/berthd"]
