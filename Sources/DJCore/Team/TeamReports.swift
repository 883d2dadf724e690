import Foundation

/// What a worker thread is doing.
public enum WorkerActivity: String, Codable, Sendable {
    case idle, busy
    /// Still running a task that timed out or was abandoned (its result will be dropped).
    case stuck
    /// Leaving after its current task (the pool is shrinking).
    case retiring
}

/// One worker thread as reported.
public struct WorkerStatus: Codable, Sendable, Equatable {
    /// "<instance>/w<n>", as recorded on the tasks it runs.
    public var id: String
    public var activity: WorkerActivity
    public var taskID: Int?
    public var kind: TaskKind?
    /// Start of the current task.
    public var since: Date?
    /// Attempts this worker finished (any outcome) since the service started.
    public var tasksDone: Int
    /// Seconds spent in handlers.
    public var busySeconds: Double
}

/// Resources of one kind of task.
public struct KindResources: Codable, Sendable, Equatable {
    public var kind: TaskKind
    /// Most running at once; nil: only the worker count limits it.
    public var limit: Int?
    /// Handlers of this kind executing now (a timed-out one still counts until it returns).
    public var running: Int
    /// Ready to run and waiting for a worker.
    public var queued: Int
    /// Waiting for dependencies or for a retry time.
    public var waiting: Int
    public var hasHandler: Bool
    public var breaker: BreakerState
}

/// `TeamService.resources()`: the worker pool and how it is used, per kind.
public struct TeamResources: Codable, Sendable, Equatable {
    public var workers: Int
    public var busy: Int
    public var idle: Int
    public var stuck: Int
    public var cores: Int
    public var kinds: [KindResources]
    public var limits: [TaskKind: Int]
    /// Kinds with tasks queued and no handler registered: those tasks wait until one is.
    public var kindsWithoutHandler: [TaskKind]
    public var workerStates: [WorkerStatus]
}

/// `TeamService.state()`: counts, breakers, workers, uptime.
public struct TeamStateReport: Codable, Sendable, Equatable {
    public var instanceID: String
    public var running: Bool
    public var uptimeSeconds: Double
    public var counts: [TaskState: Int]
    public var countsByKind: [TaskKind: [TaskState: Int]]
    public var breakers: [BreakerStatus]
    public var workers: [WorkerStatus]
    public var policy: BalancePolicy
}

/// ok: all is well; degraded: it works but something needs a look; failing: tasks cannot run.
public enum HealthStatus: String, Codable, Sendable, Comparable {
    case ok, degraded, failing

    public static func < (a: HealthStatus, b: HealthStatus) -> Bool {
        let order: [HealthStatus] = [.ok, .degraded, .failing]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// A health verdict with its reasons, one sentence each.
public struct TeamHealth: Codable, Sendable, Equatable {
    public var status: HealthStatus
    public var reasons: [String]
    public var checkedAt: Date
}
