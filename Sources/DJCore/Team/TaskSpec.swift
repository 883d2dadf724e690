import Foundation

/// A task to submit. Unset retry and time-out fields take the service's defaults
/// (`TeamConfiguration.retry`, `.defaultTimeout`).
///
/// JSON: `{"kind": "analyse", "payload": {...}, "priority": 0, "dependsOn": [4, 5], "timeout": 30,
/// "maxAttempts": 3, "backoffBase": 1, "backoffMax": 60, "jitter": 0.2}`; only `kind` is required.
public struct TaskSpec: Codable, Sendable, Equatable {
    public var kind: TaskKind
    public var payload: JSONValue
    public var priority: Int
    /// Ids of existing tasks that must succeed first.
    public var dependsOn: [Int]
    /// Seconds one attempt may run.
    public var timeout: Double?
    public var maxAttempts: Int?
    public var backoffBase: Double?
    public var backoffMax: Double?
    public var jitter: Double?

    public init(kind: TaskKind, payload: JSONValue = .object([:]), priority: Int = 0, dependsOn: [Int] = [],
                timeout: Double? = nil, maxAttempts: Int? = nil, backoffBase: Double? = nil,
                backoffMax: Double? = nil, jitter: Double? = nil) {
        self.kind = kind; self.payload = payload; self.priority = priority; self.dependsOn = dependsOn
        self.timeout = timeout; self.maxAttempts = maxAttempts; self.backoffBase = backoffBase
        self.backoffMax = backoffMax; self.jitter = jitter
    }

    private enum CodingKeys: String, CodingKey {
        case kind, payload, priority, dependsOn, timeout, maxAttempts, backoffBase, backoffMax, jitter
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(TaskKind.self, forKey: .kind)
        payload = try c.decodeIfPresent(JSONValue.self, forKey: .payload) ?? .object([:])
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0
        dependsOn = try c.decodeIfPresent([Int].self, forKey: .dependsOn) ?? []
        timeout = try c.decodeIfPresent(Double.self, forKey: .timeout)
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts)
        backoffBase = try c.decodeIfPresent(Double.self, forKey: .backoffBase)
        backoffMax = try c.decodeIfPresent(Double.self, forKey: .backoffMax)
        jitter = try c.decodeIfPresent(Double.self, forKey: .jitter)
    }

    /// The retry policy of this task: its own fields over `defaults`. Throws `invalidArgument`.
    func resolvedRetry(_ defaults: RetryPolicy) throws -> RetryPolicy {
        let r = RetryPolicy(maxAttempts: maxAttempts ?? defaults.maxAttempts, baseDelay: backoffBase ?? defaults.baseDelay,
                            maxDelay: backoffMax ?? defaults.maxDelay, jitter: jitter ?? defaults.jitter)
        try r.validate()
        return r
    }
}

/// One step of a batch submission or a workflow: a task with a local name, depending on other steps of
/// the same batch by name.
///
/// A string anywhere in `payload` that is exactly `"$steps.<name>.result"` or
/// `"$steps.<name>.result.<key>[.<key>...]"` is replaced, when the task is dispatched, by the named step's
/// JSON result (or that key of it). The named step must be one this step depends on (directly or through
/// other steps), so that its result exists by then; a missing key fails the task with `invalidArgument`.
///
/// JSON: `{"name": "separate", "kind": "separate", "payload": {"path": "$steps.analyse.result.path"},
/// "dependsOn": ["analyse"], "priority": 0, "maxAttempts": 2, "timeout": 600}`.
public struct TaskStep: Codable, Sendable, Equatable {
    public var name: String
    /// The task; its `dependsOn` may also list ids of tasks outside the batch.
    public var task: TaskSpec
    /// Names of steps of the same batch that must succeed first.
    public var dependsOn: [String]

    public init(name: String, task: TaskSpec, dependsOn: [String] = []) {
        self.name = name; self.task = task; self.dependsOn = dependsOn
    }

    public init(name: String, kind: TaskKind, payload: JSONValue = .object([:]), dependsOn: [String] = [],
                priority: Int = 0, maxAttempts: Int? = nil, timeout: Double? = nil) {
        self.init(name: name, task: TaskSpec(kind: kind, payload: payload, priority: priority, timeout: timeout,
                                             maxAttempts: maxAttempts), dependsOn: dependsOn)
    }

    private enum CodingKeys: String, CodingKey { case name, dependsOn }

    /// The step's fields are flat: `name`, `dependsOn` (names) and the `TaskSpec` fields, except that
    /// `dependsOn` holds step names; ids of existing tasks go in `dependsOnTasks`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        dependsOn = try c.decodeIfPresent([String].self, forKey: .dependsOn) ?? []
        let extra = try decoder.container(keyedBy: FlatKeys.self)
        let kind = try extra.decode(TaskKind.self, forKey: .kind)
        task = TaskSpec(kind: kind,
                        payload: try extra.decodeIfPresent(JSONValue.self, forKey: .payload) ?? .object([:]),
                        priority: try extra.decodeIfPresent(Int.self, forKey: .priority) ?? 0,
                        dependsOn: try extra.decodeIfPresent([Int].self, forKey: .dependsOnTasks) ?? [],
                        timeout: try extra.decodeIfPresent(Double.self, forKey: .timeout),
                        maxAttempts: try extra.decodeIfPresent(Int.self, forKey: .maxAttempts),
                        backoffBase: try extra.decodeIfPresent(Double.self, forKey: .backoffBase),
                        backoffMax: try extra.decodeIfPresent(Double.self, forKey: .backoffMax),
                        jitter: try extra.decodeIfPresent(Double.self, forKey: .jitter))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: FlatKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(task.kind, forKey: .kind)
        try c.encode(task.payload, forKey: .payload)
        try c.encode(dependsOn, forKey: .dependsOn)
        if !task.dependsOn.isEmpty { try c.encode(task.dependsOn, forKey: .dependsOnTasks) }
        try c.encode(task.priority, forKey: .priority)
        try c.encodeIfPresent(task.timeout, forKey: .timeout)
        try c.encodeIfPresent(task.maxAttempts, forKey: .maxAttempts)
        try c.encodeIfPresent(task.backoffBase, forKey: .backoffBase)
        try c.encodeIfPresent(task.backoffMax, forKey: .backoffMax)
        try c.encodeIfPresent(task.jitter, forKey: .jitter)
    }

    private enum FlatKeys: String, CodingKey {
        case name, kind, payload, dependsOn, dependsOnTasks, priority, timeout, maxAttempts, backoffBase, backoffMax, jitter
    }
}

/// Which tasks `TeamService.list` returns: all filters must match; newest first unless `oldestFirst`.
public struct TaskFilter: Codable, Sendable, Equatable {
    public var states: [TaskState]?
    public var kinds: [TaskKind]?
    public var workflowID: Int?
    /// At most this many (1...1000).
    public var limit: Int
    /// Skip this many.
    public var offset: Int
    /// Keyset paging: only ids below this one (newest first) or above it (oldest first).
    public var afterID: Int?
    public var oldestFirst: Bool

    public init(states: [TaskState]? = nil, kinds: [TaskKind]? = nil, workflowID: Int? = nil, limit: Int = 100,
                offset: Int = 0, afterID: Int? = nil, oldestFirst: Bool = false) {
        self.states = states; self.kinds = kinds; self.workflowID = workflowID; self.limit = limit
        self.offset = offset; self.afterID = afterID; self.oldestFirst = oldestFirst
    }

    private enum CodingKeys: String, CodingKey { case states, kinds, workflowID, limit, offset, afterID, oldestFirst }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(states: try c.decodeIfPresent([TaskState].self, forKey: .states),
                  kinds: try c.decodeIfPresent([TaskKind].self, forKey: .kinds),
                  workflowID: try c.decodeIfPresent(Int.self, forKey: .workflowID),
                  limit: try c.decodeIfPresent(Int.self, forKey: .limit) ?? 100,
                  offset: try c.decodeIfPresent(Int.self, forKey: .offset) ?? 0,
                  afterID: try c.decodeIfPresent(Int.self, forKey: .afterID),
                  oldestFirst: try c.decodeIfPresent(Bool.self, forKey: .oldestFirst) ?? false)
    }

    public func validate() throws {
        guard (1...1000).contains(limit) else { throw DJCoreError.invalidArgument("limit: \(limit) is out of range (1...1000)") }
        guard offset >= 0 else { throw DJCoreError.invalidArgument("offset: \(offset) must be 0 or more") }
    }
}
