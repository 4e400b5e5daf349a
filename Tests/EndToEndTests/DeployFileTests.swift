import ConsulDevAgent
import Foundation
import MindAlphaBench
import MindAlphaDiscovery
import TestSupport
import Testing

/// `deploy/nomad/bench.nomad.hcl` and `deploy/kubernetes/bench-job.yaml`, as far as this machine allows (no cluster
/// here): parsed by python-hcl2 and PyYAML, the fields the launch depends on checked, and each file's command line
/// run as its scheduler would run it — once per agent, with the index and run ID the scheduler sets — against
/// consul-dev and a fleet, then merged from Consul.
extension BenchTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy")

    /// The launch fields of both files, as JSON from a Python script.
    static func deployFields() async throws -> [String: Any] {
        let probe = try await Tool.exec("python3", ["-c", "import hcl2, yaml"])
        try #require(probe.status == 0, "python-hcl2 or PyYAML is missing: run scripts/bootstrap.sh --tests")
        let script = """
        import hcl2, yaml, json, sys
        unq = lambda s: json.loads(s) if isinstance(s, str) and s.startswith('"') else s
        nomad = hcl2.load(open(sys.argv[1]))
        job_name, job = next(iter(nomad["job"][0].items())) if isinstance(nomad["job"], list) else next(iter(nomad["job"].items()))
        group_name, group = next(iter(job["group"][0].items()))
        task_name, task = next(iter(group["task"][0].items()))
        config = task["config"][0]
        k8s = yaml.safe_load(open(sys.argv[2]))
        pod = k8s["spec"]["template"]["spec"]
        container = pod["containers"][0]
        print(json.dumps({
            "nomad": {"job": unq(job_name), "type": unq(job["type"]),
                      "meta_required": [unq(m) for m in job["parameterized"][0]["meta_required"]],
                      "meta": {k: unq(v) for k, v in job["meta"][0].items() if not k.startswith("__")},
                      "count": group["count"], "command": unq(config["command"]), "args": [unq(a) for a in config["args"]]},
            "k8s": {"kind": k8s["kind"], "name": k8s["metadata"]["name"], "completionMode": k8s["spec"]["completionMode"],
                    "completions": k8s["spec"]["completions"], "parallelism": k8s["spec"]["parallelism"],
                    "restartPolicy": pod["restartPolicy"], "command": container["command"], "args": container["args"],
                    "env": {e["name"]: e.get("value") for e in container["env"]}},
        }))
        """
        let run = try await Tool.exec("python3", ["-c", script, deploy.appendingPathComponent("nomad/bench.nomad.hcl").path,
                                                  deploy.appendingPathComponent("kubernetes/bench-job.yaml").path])
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    /// Runs `script` with `sh -c` once per agent, each with its own environment, and returns their results.
    static func launch(_ script: String, agents environments: [[String: String]]) async throws -> [Tool.Result] {
        try await withThrowingTaskGroup(of: (Int, Tool.Result).self) { group in
            for (i, environment) in environments.enumerated() {
                let exports = environment.map { "export \($0.key)=\(ReplTests.Terminal.quote($0.value))" }.joined(separator: "; ")
                group.addTask {
                    (i, try await Tool.shell("export PATH=\"$(dirname \"$BIN\"):$PATH\"; \(exports); /bin/sh -c \(ReplTests.Terminal.quote(script))", timeout: 120))
                }
            }
            var results: [(Int, Tool.Result)] = []
            for try await r in group { results.append(r) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    @Test func theNomadAndKubernetesJobsLaunchTheirAgentsAsTheReadmeSays() async throws {
        let fields = try await Self.deployFields()
        let nomad = try #require(fields["nomad"] as? [String: Any])
        let k8s = try #require(fields["k8s"] as? [String: Any])
        // Nomad: a parameterized batch job, count agents, the shard from the allocation index, the run ID from meta.
        #expect(nomad["type"] as? String == "batch" && nomad["meta_required"] as? [String] == ["run_id"])
        let count = try #require(nomad["count"] as? Int)
        let nomadArgs = try #require(nomad["args"] as? [String])
        #expect(nomad["command"] as? String == "/bin/sh" && nomadArgs.first == "-c" && nomadArgs.count == 2)
        let nomadScript = nomadArgs[1]
        #expect(nomadScript.contains("--agents \(count) ") && nomadScript.contains("--shard $((NOMAD_ALLOC_INDEX + 1))/\(count)"))
        #expect(nomadScript.contains("--coordinate \"$NOMAD_META_run_id\""))
        // Kubernetes: an Indexed Job, all agents at once, the shard from the completion index, the run ID in the name.
        #expect(k8s["kind"] as? String == "Job" && k8s["completionMode"] as? String == "Indexed" && k8s["restartPolicy"] as? String == "Never")
        let completions = try #require(k8s["completions"] as? Int)
        #expect(k8s["parallelism"] as? Int == completions && (k8s["name"] as? String)?.hasSuffix("${RUN_ID}") == true)
        let k8sScript = try #require((k8s["args"] as? [String])?.first)
        #expect(k8s["command"] as? [String] == ["/bin/sh", "-c"])
        #expect(k8sScript.contains("--agents \(completions) ") && k8sScript.contains("--shard $((JOB_COMPLETION_INDEX + 1))/\(completions)"))
        #expect(k8sScript.contains("--coordinate \"$RUN_ID\"") && (k8s["env"] as? [String: Any])?["RUN_ID"] as? String == "${RUN_ID}")

        // Each command line, run as its scheduler runs it, against a fleet registered as the files' service.
        try await Self.agentFleet { agent, servers in
            let service = try #require((nomad["meta"] as? [String: String])?["service"])
            #expect(service == "ms-serving")
            let nomadRuns = try await Self.launch(nomadScript, agents: (0..<count).map {
                ["NOMAD_ALLOC_INDEX": "\($0)", "NOMAD_META_run_id": "nomad-1", "NOMAD_META_service": service, "NOMAD_META_rate": "3k",
                 "NOMAD_META_duration": "1s", "CONSUL_HTTP_ADDR": agent.address]
            })
            let env = try #require(k8s["env"] as? [String: Any])
            let k8sRuns = try await Self.launch(k8sScript, agents: (0..<completions).map {
                ["JOB_COMPLETION_INDEX": "\($0)", "RUN_ID": "k8s-1", "SERVICE": env["SERVICE"] as? String ?? "", "RATE": "3k",
                 "DURATION": "1s", "CONSUL_HTTP_ADDR": agent.address]
            })
            for (run, results) in [("nomad-1", nomadRuns), ("k8s-1", k8sRuns)] {
                for r in results { #expect(r.status == 0, "\(run): \(r.stderr)") }
                let shards = results.compactMap { try? BenchReport.decode(Data($0.stdout.utf8)).agents?.first?.shard }
                #expect(shards == (1...results.count).map { "\($0)/\(results.count)" }, "\(run): \(shards)")
                let merged = try Self.report(try await Tool.run(["report", "merge", "--consul", agent.address, "--run", run, "--json"]))
                #expect(merged.runs == results.count && merged.errors.isEmpty, "\(run)")
                // 3k requests a second in all, over one second, however many agents share it.
                #expect(abs(merged.rps - 3_000) < 300, "\(run): \(merged.rps)")
            }
            #expect(Self.answered(servers) > 5_000)
        }
    }
}
