extension LoadPlan {
    /// This shard's part of the plan: of a closed loop's concurrency and of a `requests` count, its share of the whole
    /// (the N shares add up to it); of an open loop's rates, 1/N. A count too small to give every shard one is an
    /// error. The duration, warm-up and timeout are every shard's.
    public func part(for shard: Shard) throws(ShardError) -> LoadPlan {
        guard shard.count > 1 else { return self }
        var part = self
        switch mode {
        case let .closed(concurrency):
            guard concurrency >= shard.count else {
                throw ShardError("--concurrency \(concurrency) cannot be split over \(shard.count) agents: each needs at least one request in flight")
            }
            part.mode = .closed(concurrency: shard.part(of: concurrency))
        case let .open(rate, from):
            part.mode = .open(rate: shard.part(of: rate), from: from.map(shard.part(of:)))
        }
        if case let .requests(n) = stop {
            guard n >= shard.count else { throw ShardError("--requests \(n) cannot be split over \(shard.count) agents: each needs at least one") }
            part.stop = .requests(shard.part(of: n))
        }
        return part
    }
}

extension BenchReport.Plan {
    /// The plan of all agents together: `plan` as given (before ``LoadPlan/part(for:)``), `concurrency` as given
    /// (`nil`: one in flight per connection), the connections per instance of all agents, and how many agents.
    public init(_ plan: LoadPlan, concurrency: Int?, conns: Int, agents: Int) {
        var rate: Double?, ramp: Double?
        var mode = "closed"
        if case let .open(r, from) = plan.mode {
            mode = "open"
            rate = r
            ramp = from
        }
        var duration: Double?, requests: Int?
        switch plan.stop {
        case let .duration(d): duration = Self.seconds(d)
        case let .requests(n): requests = n
        }
        self.init(mode: mode, concurrency: mode == "closed" ? concurrency : nil, rate: rate, rateRamp: ramp, durationSeconds: duration,
                  requests: requests, warmupSeconds: Self.seconds(plan.warmup), timeoutSeconds: Self.seconds(plan.timeout),
                  conns: conns, agents: agents)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
