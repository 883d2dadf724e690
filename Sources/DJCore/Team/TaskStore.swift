import Foundation

/// A task to insert, already validated and with its retry policy resolved.
public struct TaskInsert: Sendable, Equatable {
    public var kind: TaskKind
    public var payload: JSONValue
    public var priority: Int
    public var retry: RetryPolicy
    public var timeout: Double?
    /// Ids of tasks already in the store.
    public var dependsOnIDs: [Int]
    /// Positions of earlier entries of the same insert call.
    public var dependsOnBatch: [Int]
    public var stepName: String?

    public init(kind: TaskKind, payload: JSONValue, priority: Int, retry: RetryPolicy, timeout: Double?,
                dependsOnIDs: [Int] = [], dependsOnBatch: [Int] = [], stepName: String? = nil) {
        self.kind = kind; self.payload = payload; self.priority = priority; self.retry = retry; self.timeout = timeout
        self.dependsOnIDs = dependsOnIDs; self.dependsOnBatch = dependsOnBatch; self.stepName = stepName
    }
}

/// How an attempt ended, as the service tells the store.
public enum TaskOutcome: Sendable, Equatable {
    case succeeded(JSONValue)
    /// The attempt failed (`timedOut`: ran past its time-out) and the task then retries, fails for good
    /// or goes to the dead-letter list.
    case failed(error: String, then: FailureDisposition, timedOut: Bool)
    /// Ended after a cancellation request.
    case cancelled
}

/// What follows a failed attempt.
public enum FailureDisposition: Sendable, Equatable {
    /// Another attempt after this many seconds.
    case retry(after: Double)
    /// No retry: a permanent error (bad payload).
    case permanent
    /// Attempts exhausted.
    case deadLetter
}

/// How many tasks of a kind are in a state.
public struct TaskCount: Sendable, Equatable, Codable {
    public var state: TaskState
    public var kind: TaskKind
    public var count: Int
}

/// Where the Team Service keeps tasks, their dependencies, history and workflows: something that is not
/// the service's own memory, so a restart loses nothing and several processes can share one queue.
///
/// Contract for implementations (SQLite here; PostgreSQL would use `SELECT ... FOR UPDATE SKIP LOCKED`):
/// - every method is atomic (one transaction) and safe to call from any thread;
/// - `claim` moves one ready task queued -> running for one worker, so two callers, even in two
///   processes, never get the same task;
/// - `finish` only applies while the task is still `running` for that worker and attempt (a late result
///   after a time-out, a restart or a cancellation is dropped: nil);
/// - state changes append events and return them (the service publishes them);
/// - a task that failed, was cancelled or dead-lettered fails its pending dependents ("dependency N
///   failed"); a task that succeeded queues the dependents whose dependencies all succeeded.
/// Time comes from the caller (`now`), never from the store's own clock.
public protocol TaskStore: AnyObject, Sendable {
    /// Inserts tasks (and a workflow made of them) all or nothing. Entries may depend on earlier
    /// entries (`dependsOnBatch`) and on stored tasks; unknown ids throw `invalidArgument`.
    func insert(_ tasks: [TaskInsert], workflowName: String?, now: Date) throws
        -> (tasks: [TeamTask], workflow: Workflow?, events: [TaskEventRecord])
    func task(id: Int, history: Bool) throws -> TeamTask?
    func list(_ filter: TaskFilter) throws -> [TeamTask]
    /// The ready task to run next among `kinds` (highest priority, then oldest; retry-wait tasks whose
    /// time has come count as ready), now running on `worker` with a lease until `leaseUntil`.
    func claim(kinds: [TaskKind], worker: String, now: Date, leaseUntil: Date) throws -> (TeamTask, TaskEventRecord)?
    /// Ends attempt `attempt` of task `id` run by `worker`; nil if the task is no longer that attempt's.
    func finish(id: Int, worker: String, attempt: Int, outcome: TaskOutcome, runSeconds: Double, now: Date) throws -> [TaskEventRecord]?
    /// Cancels a task that has not finished: at once if not running, else marks it `cancelRequested`.
    func cancel(id: Int, now: Date) throws -> (TeamTask, [TaskEventRecord])
    /// Puts a failed, dead-lettered or cancelled task back (attempts reset), and with it the dependents
    /// it had failed.
    func retry(id: Int, now: Date) throws -> (TeamTask, [TaskEventRecord])
    /// Extends the leases of tasks running on these workers (id -> worker); returns the ids whose
    /// cancellation was requested (possibly by another process).
    func renewLeases(_ running: [Int: String], until: Date) throws -> Set<Int>
    /// Puts `running` tasks of dead processes back in the queue (not counting the interrupted attempt):
    /// all of them, or (`expiredOnly`) only those whose lease ended before `now`. A task whose
    /// cancellation had been asked for ends cancelled instead.
    func recoverRunning(now: Date, expiredOnly: Bool, reason: String) throws -> [TaskEventRecord]
    /// Marks a running attempt that is being abandoned at shutdown (lease ended) so the next start
    /// re-queues it.
    func park(id: Int, worker: String, attempt: Int, now: Date) throws -> [TaskEventRecord]
    func setProgress(id: Int, fraction: Double, message: String?) throws
    func counts() throws -> [TaskCount]
    /// The earliest `notBefore` of retry-wait tasks among `kinds`.
    func nextRetryTime(kinds: [TaskKind]) throws -> Date?
    /// Submission time of the oldest ready task (queue wait), or nil.
    func oldestReady(now: Date) throws -> Date?
    /// Results of the succeeded steps of a workflow, by step name.
    func stepResults(workflowID: Int) throws -> [String: JSONValue]
    func workflow(id: Int) throws -> Workflow?
    /// Newest first.
    func workflows(limit: Int, offset: Int) throws -> [Workflow]
}
