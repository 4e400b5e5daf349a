# Three mindalpha-pool bench agents started together through Consul, as a parameterized Nomad batch job.
#   register:  nomad job run deploy/nomad/bench.nomad.hcl
#   launch:    nomad job dispatch -meta run_id=nightly-42 mindalpha-bench
#   merge:     mindalpha-pool report merge --run nightly-42 --wait 5m
# Each allocation is one agent: its shard is its allocation index + 1 (of `count`), the run ID comes from the
# dispatch's meta; the agents meet in Consul's KV store under mindalpha-pool/runs/<run_id>/ and write their
# reports there. The load (service, rate, duration) is the whole fleet's; each agent applies its part.
job "mindalpha-bench" {
  type        = "batch"
  datacenters = ["dc1"]

  parameterized {
    meta_required = ["run_id"]
    meta_optional = ["service", "rate", "duration"]
  }

  meta {
    service  = "ms-serving"
    rate     = "300k"
    duration = "60s"
  }

  group "agents" {
    # The number of agents; keep --agents below equal to it.
    count = 3

    restart {
      attempts = 0
      mode     = "fail"
    }

    task "bench" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = [
          "-c",
          "exec mindalpha-pool bench --service \"$NOMAD_META_service\" --rate \"$NOMAD_META_rate\" --duration \"$NOMAD_META_duration\" --coordinate \"$NOMAD_META_run_id\" --agents 3 --shard $((NOMAD_ALLOC_INDEX + 1))/3 --json --quiet",
        ]
      }

      env {
        # The Consul agent on this node.
        CONSUL_HTTP_ADDR = "${attr.unique.network.ip-address}:8500"
      }

      resources {
        cpu    = 2000
        memory = 512
      }
    }
  }
}
