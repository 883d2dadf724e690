import Foundation

/// How the Team Service chooses the next task among the ready ones.
public enum BalancePolicy: String, Codable, Sendable, CaseIterable {
    /// Highest priority first, then oldest, whatever the kind.
    case priority
    /// The kind with the fewest tasks running goes first (then priority, then age): one slow kind cannot
    /// take every worker while others wait.
    case fair
}

/// Settings of a `TeamService`. Every field has a default that suits one `djd` on one machine.
public struct TeamConfiguration: Codable, Sendable, Equatable {
    /// Worker threads. Default: one per core but one, which the audio thread keeps (at least 1).
    public var workers: Int
    /// Retry policy of tasks that do not set their own.
    public var retry: RetryPolicy
    /// Seconds an attempt may run when its task does not say (nil: no limit).
    public var defaultTimeout: Double?
    /// Most tasks of a kind running at once (e.g. separate: 1); kinds not listed are limited only by the
    /// workers. 0 pauses a kind.
    public var limits: [TaskKind: Int]
    public var breaker: BreakerSettings
    public var policy: BalancePolicy
    /// Seconds a claim stays valid without renewal; running tasks are renewed every third of it.
    public var leaseDuration: Double
    /// Idle workers look at the store at least this often (real seconds), to see tasks submitted by other
    /// processes sharing it.
    public var pollInterval: Double
    /// Shortest interval between two stored progress reports of one task (seconds).
    public var progressInterval: Double
    /// false (one `djd` owns the store): at start every task left `running` belonged to a dead process
    /// and is re-queued. true (several processes share it): only tasks whose lease ran out are, at start
    /// and on every lease renewal.
    public var sharedStore: Bool
    /// Names this process in worker ids ("host:pid:xxxx"); nil: made up at start.
    public var instanceID: String?
    /// Seconds of finished tasks that `TeamManager.monitor()` summarises.
    public var monitorWindow: Double

    public init(workers: Int = TeamConfiguration.defaultWorkers, retry: RetryPolicy = RetryPolicy(),
                defaultTimeout: Double? = 1800, limits: [TaskKind: Int] = [:], breaker: BreakerSettings = BreakerSettings(),
                policy: BalancePolicy = .priority, leaseDuration: Double = 30, pollInterval: Double = 1,
                progressInterval: Double = 0.25, sharedStore: Bool = false, instanceID: String? = nil,
                monitorWindow: Double = 900) {
        self.workers = workers; self.retry = retry; self.defaultTimeout = defaultTimeout; self.limits = limits
        self.breaker = breaker; self.policy = policy; self.leaseDuration = leaseDuration; self.pollInterval = pollInterval
        self.progressInterval = progressInterval; self.sharedStore = sharedStore; self.instanceID = instanceID
        self.monitorWindow = monitorWindow
    }

    /// max(1, cores - 1).
    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount - 1) }

    /// Throws `invalidArgument` naming the first bad field.
    public func validate() throws {
        guard (1...256).contains(workers) else { throw DJCoreError.invalidArgument("workers: \(workers) is out of range (1...256)") }
        try retry.validate()
        if let t = defaultTimeout, !(t.isFinite && t > 0) {
            throw DJCoreError.invalidArgument("defaultTimeout: \(t) s must be more than 0")
        }
        try Self.validate(limits: limits)
        try breaker.validate()
        guard leaseDuration.isFinite, leaseDuration >= 0.1 else {
            throw DJCoreError.invalidArgument("leaseDuration: \(leaseDuration) s must be at least 0.1")
        }
        guard pollInterval.isFinite, pollInterval >= 0.01 else {
            throw DJCoreError.invalidArgument("pollInterval: \(pollInterval) s must be at least 0.01")
        }
        guard progressInterval.isFinite, progressInterval >= 0 else {
            throw DJCoreError.invalidArgument("progressInterval: \(progressInterval) s must be 0 or more")
        }
        guard monitorWindow.isFinite, monitorWindow > 0 else {
            throw DJCoreError.invalidArgument("monitorWindow: \(monitorWindow) s must be more than 0")
        }
    }

    static func validate(limits: [TaskKind: Int]) throws {
        for (kind, n) in limits.sorted(by: { $0.key < $1.key }) where !(0...256).contains(n) {
            throw DJCoreError.invalidArgument("limits.\(kind.rawValue): \(n) is out of range (0...256)")
        }
    }
}
