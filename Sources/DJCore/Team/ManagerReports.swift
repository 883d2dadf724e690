import Foundation

/// Percentiles of a set of durations, in seconds (all 0 when `count` is 0).
public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: Int
    public var p50: Double
    public var p95: Double
    public var max: Double

    init(_ values: [Double]) {
        let v = values.sorted()
        count = v.count
        func pct(_ p: Double) -> Double {
            guard !v.isEmpty else { return 0 }
            // Nearest rank.
            let rank = Int((p * Double(v.count)).rounded(.up))
            return v[Swift.max(0, Swift.min(v.count - 1, rank - 1))]
        }
        p50 = pct(0.5)
        p95 = pct(0.95)
        max = v.last ?? 0
    }
}

/// `TeamManager.monitor()`: task metrics over a recent window, plus the engine's own metrics.
public struct TeamMonitorReport: Codable, Sendable, Equatable {
    public var at: Date
    /// Seconds of history the latency and throughput figures cover (since start if shorter).
    public var windowSeconds: Double
    public var counts: [TaskState: Int]
    public var countsByKind: [TaskKind: [TaskState: Int]]
    /// Submission to finish of tasks that finished in the window.
    public var latency: LatencySummary
    public var latencyByKind: [TaskKind: LatencySummary]
    /// Handler time of attempts that ended in the window.
    public var runTime: LatencySummary
    /// Tasks finished (any end) per minute over the window.
    public var throughputPerMinute: Double
    public var succeeded: Int
    public var failed: Int
    /// Ready tasks waiting for a worker.
    public var queueDepth: Int
    /// Seconds the oldest ready task has waited since submission.
    public var oldestQueuedSeconds: Double?
    public var deadLetters: Int
    public var breakers: [BreakerStatus]
    /// What the engine metrics provider returned (period render time, xruns, command queue depth...),
    /// or nil without a provider.
    public var engine: JSONValue?
}

/// `TeamManager.balance()`: how work is spread over the workers, and the settings that steer it.
public struct BalanceReport: Codable, Sendable, Equatable {
    public var policy: BalancePolicy
    /// Workers wanted (the pool grows or shrinks towards it).
    public var workers: Int
    public var cores: Int
    public var uptimeSeconds: Double
    /// Per worker: tasks done, busy seconds, current task.
    public var workerStates: [WorkerStatus]
    /// Per kind: limit, running, queued.
    public var kinds: [KindResources]
    public var limits: [TaskKind: Int]
}

/// Changes for `TeamManager.setBalance`: every field is optional; nil leaves it as it is.
public struct BalanceSettings: Codable, Sendable, Equatable {
    /// Replaces all per-kind limits (kinds not listed: unlimited; 0 pauses a kind).
    public var limits: [TaskKind: Int]?
    /// Grows or shrinks the pool (1...256).
    public var workers: Int?
    public var policy: BalancePolicy?

    public init(limits: [TaskKind: Int]? = nil, workers: Int? = nil, policy: BalancePolicy? = nil) {
        self.limits = limits; self.workers = workers; self.policy = policy
    }
}
