extension BenchReport {
    /// The latency histogram as HdrHistogram's percentile distribution text (`.hgrm`: what its
    /// `outputPercentileDistribution` and wrk2 write, and HdrHistogram's plotter reads): `Value Percentile TotalCount
    /// 1/(1-Percentile)` lines, values in milliseconds, then the mean, max and count. `uncorrected`: an open loop's
    /// latencies from the actual send (`nil` when the report has none).
    public func hgrm(uncorrected: Bool = false) -> String? {
        guard let buckets = uncorrected ? histogramUncorrected : histogram else { return nil }
        var h = LoadRecorder.makeHistogram()
        Self.record(buckets, into: &h)
        var out = ""
        // 25 reporting points per half-distance puts p50, p90, p99, p99.9 and p99.99 themselves on lines.
        h.outputPercentileDistribution(to: &out, outputValueUnitScalingRatio: 1_000_000, percentileTicksPerHalfDistance: 25)
        return out
    }
}
