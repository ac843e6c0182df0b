export const HELP = `podflow: network-flow telemetry for Kubernetes, exported as OpenTelemetry.

Usage:
  podflow run [-c FILE]...        run the pipelines of one or more config files
                                  (merged in order); with no -c, the embedded default:
                                  flows from the kernel (or synthetic ones when podflow
                                  lacks the privilege) in a live console table and on
                                  a Prometheus endpoint at 127.0.0.1:8889/metrics
  podflow validate -c FILE...     check config files; prints every problem with its
                                  path and exits 1 when there is any
  podflow components [--json]     list the components: kind, type, stability, aliases
  podflow top [--endpoint URL] [--sort bytes|packets|retransmits|failed|drops] [--namespace NS]
                                  the top flows of a running podflow, read from its
                                  flows_ui extension (default 127.0.0.1:13190) each
                                  second; keys b p r f sort, q quits

Options:
  -c, --config FILE   a YAML config file, or yaml:<inline yaml> (repeatable)
      --log-level L   debug | info | warn | error (overrides service::telemetry::logs::level)
  -v, --version       print the version
  -h, --help          print this help

Signals: SIGINT or SIGTERM stop podflow after a final export; a second one exits at once.
`;
