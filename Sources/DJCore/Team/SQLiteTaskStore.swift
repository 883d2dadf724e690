import Foundation

/// `TaskStore` on SQLite (one file, WAL, `synchronous=FULL`: a committed state change survives `kill -9`).
///
/// Tables (all named `team_*`, so other parts of DJCore can share the file):
/// - `team_schema(version)`: this store's own migration count (PRAGMA user_version belongs to others);
/// - `team_tasks`: one row per task (state, payload and result as JSON text, attempts, retry policy,
///   time-out, not-before, worker and lease, progress, workflow and step name, times as Unix seconds);
/// - `team_deps(task_id, depends_on)`: the dependency edges;
/// - `team_task_events`: the history, one row per state change;
/// - `team_workflows`: workflows (name, created).
///
/// Several processes may open the same file: `claim` is one `BEGIN IMMEDIATE` transaction, so a task
/// goes to exactly one worker. Calls from one process are serialised on a lock of the store.
///
/// Prefer `init(path:)`, which gives the store its own connection: `SQLiteDatabase` runs a statement
/// issued by another thread *inside* a transaction that is open on its connection, so sharing one
/// `SQLiteDatabase` object between components that use transactions is unsafe.
public final class SQLiteTaskStore: TaskStore, @unchecked Sendable {
    public let database: SQLiteDatabase
    private let lock = NSLock()
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    private let decoder = JSONDecoder()

    /// Opens (creating if needed) the database at `path` with a connection of its own and brings the
    /// `team_*` tables up to date.
    public convenience init(path: String) throws {
        try self.init(database: SQLiteDatabase(path: path))
    }

    /// Uses `database` (see the class note on sharing) and brings the `team_*` tables up to date.
    public init(database: SQLiteDatabase) throws {
        self.database = database
        try migrate()
    }

    static let migrations: [[String]] = [[
        """
        CREATE TABLE team_tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
            payload TEXT NOT NULL, result TEXT, error TEXT, dep_failed INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
            backoff_base REAL NOT NULL, backoff_max REAL NOT NULL, jitter REAL NOT NULL, timeout REAL,
            not_before REAL, worker TEXT, lease_until REAL, cancel_requested INTEGER NOT NULL DEFAULT 0,
            progress REAL, progress_message TEXT,
            workflow_id INTEGER REFERENCES team_workflows(id), step_name TEXT,
            submitted_at REAL NOT NULL, started_at REAL, finished_at REAL, updated_at REAL NOT NULL)
        """,
        "CREATE INDEX team_tasks_ready ON team_tasks(state, priority DESC, id)",
        "CREATE INDEX team_tasks_kind ON team_tasks(kind, state)",
        "CREATE INDEX team_tasks_workflow ON team_tasks(workflow_id, step_name)",
        """
        CREATE TABLE team_deps (
            task_id INTEGER NOT NULL REFERENCES team_tasks(id) ON DELETE CASCADE,
            depends_on INTEGER NOT NULL REFERENCES team_tasks(id),
            PRIMARY KEY (task_id, depends_on))
        """,
        "CREATE INDEX team_deps_depends_on ON team_deps(depends_on)",
        """
        CREATE TABLE team_task_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id INTEGER NOT NULL REFERENCES team_tasks(id) ON DELETE CASCADE,
            at REAL NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL, attempt INTEGER, worker TEXT,
            message TEXT NOT NULL, delay REAL)
        """,
        "CREATE INDEX team_task_events_task ON team_task_events(task_id, id)",
        """
        CREATE TABLE team_workflows (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created_at REAL NOT NULL)
        """,
    ]]

    private func migrate() throws {
        try locked {
            try database.execute("CREATE TABLE IF NOT EXISTS team_schema (version INTEGER NOT NULL)")
            try database.transaction {
                if try database.query("SELECT version FROM team_schema").isEmpty {
                    try database.execute("INSERT INTO team_schema (version) VALUES (0)")
                }
            }
            let current = try database.query("SELECT version FROM team_schema").first?[0].int ?? 0
            guard current <= Self.migrations.count else {
                throw DJCoreError.store("the team tables in \(database.path) have schema version \(current), newer than this djd knows (\(Self.migrations.count)); use a newer djd")
            }
            for v in current..<Self.migrations.count {
                try database.transaction {
                    for sql in Self.migrations[v] { try database.execute(sql) }
                    try database.execute("UPDATE team_schema SET version = ?", [SQLValue(v + 1)])
                }
            }
        }
    }

    /// The version of the `team_*` tables.
    public func schemaVersion() throws -> Int {
        try locked { try database.query("SELECT version FROM team_schema").first?[0].int ?? 0 }
    }

    // MARK: - TaskStore

    public func insert(_ tasks: [TaskInsert], workflowName: String?, now: Date) throws
        -> (tasks: [TeamTask], workflow: Workflow?, events: [TaskEventRecord]) {
        try locked {
            try database.transaction {
                var workflowID: Int?
                if let workflowName {
                    try database.execute("INSERT INTO team_workflows (name, created_at) VALUES (?, ?)",
                                         [SQLValue(workflowName), SQLValue(now.timeIntervalSince1970)])
                    workflowID = Int(database.lastInsertRowID)
                }
                var ids: [Int] = []
                var inserted: [Int: TaskState] = [:]
                var events: [TaskEventRecord] = []
                for (index, t) in tasks.enumerated() {
                    var deps: [Int] = []
                    for d in t.dependsOnBatch {
                        guard d >= 0, d < index else {
                            throw DJCoreError.invalidArgument("dependsOn: batch entry \(index) refers to entry \(d), which does not come before it")
                        }
                        deps.append(ids[d])
                    }
                    var depStates: [Int: TaskState] = [:]
                    for d in t.dependsOnIDs {
                        guard let row = try database.query("SELECT state FROM team_tasks WHERE id = ?", [SQLValue(d)]).first,
                              let s = row[0].string.flatMap(TaskState.init(rawValue:)) else {
                            throw DJCoreError.invalidArgument("dependsOn: task \(d) does not exist")
                        }
                        depStates[d] = s
                        deps.append(d)
                    }
                    for d in deps where depStates[d] == nil { depStates[d] = inserted[d] ?? .pending }
                    deps = Array(Set(deps)).sorted()
                    let failedDep = deps.first { depStates[$0]?.isUnsuccessful == true }
                    let state: TaskState
                    if failedDep != nil { state = .failed }
                    else if deps.allSatisfy({ depStates[$0] == .succeeded }) { state = .queued }
                    else { state = .pending }
                    try database.execute("""
                        INSERT INTO team_tasks (kind, state, priority, payload, error, dep_failed, max_attempts,
                            backoff_base, backoff_max, jitter, timeout, workflow_id, step_name, submitted_at,
                            finished_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, [SQLValue(t.kind.rawValue), SQLValue(state.rawValue), SQLValue(t.priority), SQLValue(try json(t.payload)),
                              SQLValue(failedDep.map { "dependency \($0) failed" }), SQLValue(failedDep != nil),
                              SQLValue(t.retry.maxAttempts), SQLValue(t.retry.baseDelay), SQLValue(t.retry.maxDelay),
                              SQLValue(t.retry.jitter), SQLValue(t.timeout), SQLValue(workflowID), SQLValue(t.stepName),
                              SQLValue(now.timeIntervalSince1970), SQLValue(failedDep != nil ? now.timeIntervalSince1970 : nil),
                              SQLValue(now.timeIntervalSince1970)])
                    let id = Int(database.lastInsertRowID)
                    ids.append(id)
                    inserted[id] = state
                    for d in deps {
                        try database.execute("INSERT INTO team_deps (task_id, depends_on) VALUES (?, ?)", [SQLValue(id), SQLValue(d)])
                    }
                    var msg = "submitted (\(t.kind.rawValue), priority \(t.priority)"
                    if !deps.isEmpty { msg += ", depends on \(deps.map(String.init).joined(separator: ", "))" }
                    msg += ")"
                    events.append(try event(id, t.kind, now, .submitted, state == .failed ? .pending : state, message: msg))
                    if let failedDep {
                        events.append(try event(id, t.kind, now, .failed, .failed, message: "dependency \(failedDep) failed"))
                    }
                }
                let stored = try ids.map { try loadTask($0, history: false)! }
                let workflow = try workflowID.map { try loadWorkflow($0)! }
                return (stored, workflow, events)
            }
        }
    }

    public func task(id: Int, history: Bool) throws -> TeamTask? {
        try locked { try loadTask(id, history: history) }
    }

    public func list(_ filter: TaskFilter) throws -> [TeamTask] {
        try filter.validate()
        return try locked {
            var clauses: [String] = []
            var params: [SQLValue] = []
            if let states = filter.states, !states.isEmpty {
                clauses.append("state IN (\(placeholders(states.count)))")
                params += states.map { SQLValue($0.rawValue) }
            }
            if let kinds = filter.kinds, !kinds.isEmpty {
                clauses.append("kind IN (\(placeholders(kinds.count)))")
                params += kinds.map { SQLValue($0.rawValue) }
            }
            if let w = filter.workflowID { clauses.append("workflow_id = ?"); params.append(SQLValue(w)) }
            if let a = filter.afterID { clauses.append(filter.oldestFirst ? "id > ?" : "id < ?"); params.append(SQLValue(a)) }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            let rows = try database.query(
                "SELECT * FROM team_tasks \(whereSQL) ORDER BY id \(filter.oldestFirst ? "ASC" : "DESC") LIMIT ? OFFSET ?",
                params + [SQLValue(filter.limit), SQLValue(filter.offset)])
            let deps = try dependencies(of: rows.compactMap { $0["id"].int })
            return try rows.map { try decodeTask($0, deps: deps[$0["id"].int ?? 0] ?? []) }
        }
    }

    public func claim(kinds: [TaskKind], worker: String, now: Date, leaseUntil: Date) throws -> (TeamTask, TaskEventRecord)? {
        guard !kinds.isEmpty else { return nil }
        return try locked {
            try database.transaction {
                let rows = try database.query("""
                    SELECT id, kind, attempts FROM team_tasks
                    WHERE kind IN (\(placeholders(kinds.count)))
                      AND (state = 'queued' OR (state = 'retryWait' AND not_before <= ?))
                    ORDER BY priority DESC, id ASC LIMIT 1
                    """, kinds.map { SQLValue($0.rawValue) } + [SQLValue(now.timeIntervalSince1970)])
                guard let row = rows.first, let id = row["id"].int, let kind = row["kind"].string.flatMap(TaskKind.init(rawValue:)),
                      let attempts = row["attempts"].int else { return nil }
                try database.execute("""
                    UPDATE team_tasks SET state = 'running', attempts = attempts + 1, worker = ?, lease_until = ?,
                        started_at = ?, updated_at = ?, not_before = NULL, progress = NULL, progress_message = NULL
                    WHERE id = ? AND state IN ('queued', 'retryWait')
                    """, [SQLValue(worker), SQLValue(leaseUntil.timeIntervalSince1970), SQLValue(now.timeIntervalSince1970),
                          SQLValue(now.timeIntervalSince1970), SQLValue(id)])
                guard database.changes == 1 else { return nil }
                let e = try event(id, kind, now, .started, .running, attempt: attempts + 1, worker: worker,
                                  message: "started attempt \(attempts + 1) on worker \(worker)")
                return (try loadTask(id, history: false)!, e)
            }
        }
    }

    public func finish(id: Int, worker: String, attempt: Int, outcome: TaskOutcome, runSeconds: Double, now: Date) throws -> [TaskEventRecord]? {
        try locked {
            try database.transaction {
                guard let row = try database.query(
                    "SELECT kind, max_attempts FROM team_tasks WHERE id = ? AND state = 'running' AND worker = ? AND attempts = ?",
                    [SQLValue(id), SQLValue(worker), SQLValue(attempt)]).first,
                      let kind = row["kind"].string.flatMap(TaskKind.init(rawValue:)) else { return nil }
                let t = now.timeIntervalSince1970
                var events: [TaskEventRecord] = []
                switch outcome {
                case let .succeeded(result):
                    try database.execute("""
                        UPDATE team_tasks SET state = 'succeeded', result = ?, error = NULL, worker = NULL, lease_until = NULL,
                            finished_at = ?, updated_at = ?, progress = 1 WHERE id = ?
                        """, [SQLValue(try json(result)), SQLValue(t), SQLValue(t), SQLValue(id)])
                    events.append(try event(id, kind, now, .succeeded, .succeeded, attempt: attempt, worker: worker,
                                            message: "succeeded on attempt \(attempt) after \(seconds(runSeconds))"))
                    events += try promoteDependents(of: id, now: now)
                case .cancelled:
                    try database.execute("""
                        UPDATE team_tasks SET state = 'cancelled', worker = NULL, lease_until = NULL, finished_at = ?,
                            updated_at = ?, error = 'cancelled' WHERE id = ?
                        """, [SQLValue(t), SQLValue(t), SQLValue(id)])
                    events.append(try event(id, kind, now, .cancelled, .cancelled, attempt: attempt, worker: worker,
                                            message: "cancelled while running attempt \(attempt)"))
                    events += try failDependents(of: id, now: now)
                case let .failed(error, then, timedOut):
                    let next: TaskState
                    var notBefore: Double?
                    switch then {
                    case let .retry(after): next = .retryWait; notBefore = t + after
                    case .permanent: next = .failed
                    case .deadLetter: next = .deadLettered
                    }
                    try database.execute("""
                        UPDATE team_tasks SET state = ?, error = ?, worker = NULL, lease_until = NULL, not_before = ?,
                            finished_at = ?, updated_at = ? WHERE id = ?
                        """, [SQLValue(next.rawValue), SQLValue(error), SQLValue(notBefore),
                              SQLValue(next.isFinished ? t : nil), SQLValue(t), SQLValue(id)])
                    events.append(try event(id, kind, now, timedOut ? .timedOut : .failed, next, attempt: attempt, worker: worker,
                                            message: timedOut ? "attempt \(attempt) \(error)" : "failed attempt \(attempt): \(error)"))
                    switch then {
                    case let .retry(after):
                        let max = row["max_attempts"].int ?? attempt + 1
                        events.append(try event(id, kind, now, .retryScheduled, .retryWait, attempt: attempt,
                                                message: "retry scheduled in \(seconds(after)) (attempt \(attempt + 1) of \(max))",
                                                delay: after))
                    case .permanent:
                        events += try failDependents(of: id, now: now)
                    case .deadLetter:
                        events.append(try event(id, kind, now, .deadLettered, .deadLettered, attempt: attempt,
                                                message: "dead-lettered after \(attempt) attempts: \(error)"))
                        events += try failDependents(of: id, now: now)
                    }
                }
                return events
            }
        }
    }

    public func cancel(id: Int, now: Date) throws -> (TeamTask, [TaskEventRecord]) {
        try locked {
            try database.transaction {
                guard let task = try loadTask(id, history: false) else { throw DJCoreError.notFound("task \(id) does not exist") }
                let t = now.timeIntervalSince1970
                switch task.state {
                case .succeeded, .failed, .cancelled, .deadLettered:
                    throw DJCoreError.conflict("task \(id) has already finished (\(task.state.rawValue)); nothing to cancel")
                case .running:
                    if task.cancelRequested { return (task, []) }
                    try database.execute("UPDATE team_tasks SET cancel_requested = 1, updated_at = ? WHERE id = ?", [SQLValue(t), SQLValue(id)])
                    let e = try event(id, task.kind, now, .cancelRequested, .running, attempt: task.attempts, worker: task.worker,
                                      message: "cancellation requested while running attempt \(task.attempts)")
                    return (try loadTask(id, history: false)!, [e])
                case .pending, .queued, .retryWait:
                    try database.execute("""
                        UPDATE team_tasks SET state = 'cancelled', error = 'cancelled', not_before = NULL, finished_at = ?,
                            updated_at = ? WHERE id = ?
                        """, [SQLValue(t), SQLValue(t), SQLValue(id)])
                    var events = [try event(id, task.kind, now, .cancelled, .cancelled, message: "cancelled while \(task.state.rawValue)")]
                    events += try failDependents(of: id, now: now)
                    return (try loadTask(id, history: false)!, events)
                }
            }
        }
    }

    public func retry(id: Int, now: Date) throws -> (TeamTask, [TaskEventRecord]) {
        try locked {
            try database.transaction {
                guard let task = try loadTask(id, history: false) else { throw DJCoreError.notFound("task \(id) does not exist") }
                guard task.state.isUnsuccessful else {
                    throw DJCoreError.conflict("task \(id) is \(task.state.rawValue); only failed, dead-lettered or cancelled tasks can be retried")
                }
                var events: [TaskEventRecord] = []
                try reset(task, now: now, message: "retried by hand (attempts reset)", events: &events)
                return (try loadTask(id, history: false)!, events)
            }
        }
    }

    public func renewLeases(_ running: [Int: String], until: Date) throws -> Set<Int> {
        guard !running.isEmpty else { return [] }
        return try locked {
            try database.transaction {
                var cancelled: Set<Int> = []
                for (id, worker) in running {
                    try database.execute("UPDATE team_tasks SET lease_until = ? WHERE id = ? AND state = 'running' AND worker = ?",
                                         [SQLValue(until.timeIntervalSince1970), SQLValue(id), SQLValue(worker)])
                    if try database.query("SELECT 1 FROM team_tasks WHERE id = ? AND cancel_requested = 1", [SQLValue(id)]).first != nil {
                        cancelled.insert(id)
                    }
                }
                return cancelled
            }
        }
    }

    public func recoverRunning(now: Date, expiredOnly: Bool, reason: String) throws -> [TaskEventRecord] {
        try locked {
            try database.transaction {
                let rows = try database.query(
                    "SELECT id, kind, attempts, worker, cancel_requested FROM team_tasks WHERE state = 'running'"
                        + (expiredOnly ? " AND (lease_until IS NULL OR lease_until < ?)" : "") + " ORDER BY id",
                    expiredOnly ? [SQLValue(now.timeIntervalSince1970)] : [])
                var events: [TaskEventRecord] = []
                let t = now.timeIntervalSince1970
                for row in rows {
                    guard let id = row["id"].int, let kind = row["kind"].string.flatMap(TaskKind.init(rawValue:)) else { continue }
                    let attempt = row["attempts"].int ?? 1
                    let worker = row["worker"].string
                    if row["cancel_requested"].int == 1 {
                        try database.execute("""
                            UPDATE team_tasks SET state = 'cancelled', error = 'cancelled', worker = NULL, lease_until = NULL,
                                finished_at = ?, updated_at = ? WHERE id = ?
                            """, [SQLValue(t), SQLValue(t), SQLValue(id)])
                        events.append(try event(id, kind, now, .cancelled, .cancelled, attempt: attempt, worker: worker,
                                                message: "cancelled: attempt \(attempt) was interrupted (\(reason)) after cancellation was requested"))
                        events += try failDependents(of: id, now: now)
                    } else {
                        try database.execute("""
                            UPDATE team_tasks SET state = 'queued', attempts = MAX(attempts - 1, 0), worker = NULL, lease_until = NULL,
                                progress = NULL, progress_message = NULL, updated_at = ? WHERE id = ?
                            """, [SQLValue(t), SQLValue(id)])
                        events.append(try event(id, kind, now, .requeued, .queued, attempt: attempt, worker: worker,
                                                message: "requeued \(reason) (attempt \(attempt) on \(worker ?? "?") was interrupted and is not counted)"))
                    }
                }
                return events
            }
        }
    }

    public func park(id: Int, worker: String, attempt: Int, now: Date) throws -> [TaskEventRecord] {
        try locked {
            try database.transaction {
                guard let row = try database.query(
                    "SELECT kind FROM team_tasks WHERE id = ? AND state = 'running' AND worker = ? AND attempts = ?",
                    [SQLValue(id), SQLValue(worker), SQLValue(attempt)]).first,
                      let kind = row["kind"].string.flatMap(TaskKind.init(rawValue:)) else { return [] }
                try database.execute("UPDATE team_tasks SET lease_until = 0, updated_at = ? WHERE id = ?",
                                     [SQLValue(now.timeIntervalSince1970), SQLValue(id)])
                return [try event(id, kind, now, .parked, .running, attempt: attempt, worker: worker,
                                  message: "parked at shutdown: attempt \(attempt) did not finish and is re-queued at the next start")]
            }
        }
    }

    public func setProgress(id: Int, fraction: Double, message: String?) throws {
        try locked {
            try database.execute("UPDATE team_tasks SET progress = ?, progress_message = ? WHERE id = ? AND state = 'running'",
                                 [SQLValue(fraction), SQLValue(message), SQLValue(id)])
        }
    }

    public func counts() throws -> [TaskCount] {
        try locked {
            try database.query("SELECT state, kind, COUNT(*) AS n FROM team_tasks GROUP BY state, kind").compactMap { row in
                guard let s = row["state"].string.flatMap(TaskState.init(rawValue:)),
                      let k = row["kind"].string.flatMap(TaskKind.init(rawValue:)) else { return nil }
                return TaskCount(state: s, kind: k, count: row["n"].int ?? 0)
            }
        }
    }

    public func nextRetryTime(kinds: [TaskKind]) throws -> Date? {
        guard !kinds.isEmpty else { return nil }
        return try locked {
            try database.query(
                "SELECT MIN(not_before) FROM team_tasks WHERE state = 'retryWait' AND kind IN (\(placeholders(kinds.count)))",
                kinds.map { SQLValue($0.rawValue) }).first?[0].double.map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func oldestReady(now: Date) throws -> Date? {
        try locked {
            try database.query(
                "SELECT MIN(submitted_at) FROM team_tasks WHERE state = 'queued' OR (state = 'retryWait' AND not_before <= ?)",
                [SQLValue(now.timeIntervalSince1970)]).first?[0].double.map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func stepResults(workflowID: Int) throws -> [String: JSONValue] {
        try locked {
            var out: [String: JSONValue] = [:]
            for row in try database.query(
                "SELECT step_name, result FROM team_tasks WHERE workflow_id = ? AND state = 'succeeded' AND step_name IS NOT NULL",
                [SQLValue(workflowID)]) {
                if let name = row["step_name"].string, let text = row["result"].string {
                    out[name] = try decoder.decode(JSONValue.self, from: Data(text.utf8))
                }
            }
            return out
        }
    }

    public func workflow(id: Int) throws -> Workflow? {
        try locked { try loadWorkflow(id) }
    }

    public func workflows(limit: Int, offset: Int) throws -> [Workflow] {
        try locked {
            try database.query("SELECT id FROM team_workflows ORDER BY id DESC LIMIT ? OFFSET ?", [SQLValue(limit), SQLValue(offset)])
                .compactMap { try $0["id"].int.flatMap(loadWorkflow) }
        }
    }

    // MARK: - Helpers (called with the lock held)

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func placeholders(_ n: Int) -> String { Array(repeating: "?", count: n).joined(separator: ", ") }

    private func json(_ v: JSONValue) throws -> String {
        String(decoding: try encoder.encode(v), as: UTF8.self)
    }

    private func seconds(_ s: Double) -> String { String(format: "%.2f s", s) }

    /// Appends one history event and returns it.
    private func event(_ taskID: Int, _ kind: TaskKind, _ at: Date, _ type: TaskEventType, _ state: TaskState,
                       attempt: Int? = nil, worker: String? = nil, message: String, delay: Double? = nil) throws -> TaskEventRecord {
        try database.execute("""
            INSERT INTO team_task_events (task_id, at, type, state, attempt, worker, message, delay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [SQLValue(taskID), SQLValue(at.timeIntervalSince1970), SQLValue(type.rawValue), SQLValue(state.rawValue),
                  SQLValue(attempt), SQLValue(worker), SQLValue(message), SQLValue(delay)])
        return TaskEventRecord(id: Int(database.lastInsertRowID), taskID: taskID, kind: kind, at: at, type: type, state: state,
                               attempt: attempt, worker: worker, message: message, delaySeconds: delay)
    }

    /// Queues the pending dependents of `id` whose dependencies have all succeeded.
    private func promoteDependents(of id: Int, now: Date) throws -> [TaskEventRecord] {
        let rows = try database.query("""
            SELECT t.id, t.kind FROM team_deps d JOIN team_tasks t ON t.id = d.task_id
            WHERE d.depends_on = ? AND t.state = 'pending'
              AND NOT EXISTS (SELECT 1 FROM team_deps d2 JOIN team_tasks u ON u.id = d2.depends_on
                              WHERE d2.task_id = t.id AND u.state != 'succeeded')
            ORDER BY t.id
            """, [SQLValue(id)])
        var events: [TaskEventRecord] = []
        for row in rows {
            guard let dep = row["id"].int, let kind = row["kind"].string.flatMap(TaskKind.init(rawValue:)) else { continue }
            try database.execute("UPDATE team_tasks SET state = 'queued', updated_at = ? WHERE id = ?",
                                 [SQLValue(now.timeIntervalSince1970), SQLValue(dep)])
            events.append(try event(dep, kind, now, .queued, .queued, message: "queued: its dependencies succeeded"))
        }
        return events
    }

    /// Fails every unfinished task that depends on `id`, directly or not, without running it.
    private func failDependents(of id: Int, now: Date) throws -> [TaskEventRecord] {
        var events: [TaskEventRecord] = []
        var frontier = [id]
        let t = now.timeIntervalSince1970
        while let failed = frontier.popLast() {
            let rows = try database.query("""
                SELECT t.id, t.kind FROM team_deps d JOIN team_tasks t ON t.id = d.task_id
                WHERE d.depends_on = ? AND t.state IN ('pending', 'queued', 'retryWait') ORDER BY t.id
                """, [SQLValue(failed)])
            for row in rows {
                guard let dep = row["id"].int, let kind = row["kind"].string.flatMap(TaskKind.init(rawValue:)) else { continue }
                let msg = "dependency \(failed) failed"
                try database.execute("""
                    UPDATE team_tasks SET state = 'failed', error = ?, dep_failed = 1, not_before = NULL, finished_at = ?,
                        updated_at = ? WHERE id = ?
                    """, [SQLValue(msg), SQLValue(t), SQLValue(t), SQLValue(dep)])
                events.append(try event(dep, kind, now, .failed, .failed, message: msg))
                frontier.append(dep)
            }
        }
        return events
    }

    /// Puts an unsuccessful task back (queued or pending), and the dependents it failed.
    private func reset(_ task: TeamTask, now: Date, message: String, events: inout [TaskEventRecord]) throws {
        let depStates = try task.dependsOn.map { d in
            (d, try database.query("SELECT state FROM team_tasks WHERE id = ?", [SQLValue(d)]).first?[0].string
                .flatMap(TaskState.init(rawValue:)) ?? .failed)
        }
        if let bad = depStates.first(where: { $0.1.isUnsuccessful }) {
            throw DJCoreError.conflict("task \(task.id) depends on task \(bad.0), which is \(bad.1.rawValue); retry that one first")
        }
        let state: TaskState = depStates.allSatisfy { $0.1 == .succeeded } ? .queued : .pending
        let t = now.timeIntervalSince1970
        try database.execute("""
            UPDATE team_tasks SET state = ?, attempts = 0, error = NULL, result = NULL, dep_failed = 0, cancel_requested = 0,
                not_before = NULL, worker = NULL, lease_until = NULL, progress = NULL, progress_message = NULL,
                started_at = NULL, finished_at = NULL, updated_at = ? WHERE id = ?
            """, [SQLValue(state.rawValue), SQLValue(t), SQLValue(task.id)])
        events.append(try event(task.id, task.kind, now, .retried, state, message: message))
        // Dependents that failed only because this one did come back as pending.
        let rows = try database.query("""
            SELECT t.id FROM team_deps d JOIN team_tasks t ON t.id = d.task_id
            WHERE d.depends_on = ? AND t.state = 'failed' AND t.dep_failed = 1 ORDER BY t.id
            """, [SQLValue(task.id)])
        for row in rows {
            guard let dep = row["id"].int, let depTask = try loadTask(dep, history: false) else { continue }
            // Another of its dependencies may still be failed: then it stays failed.
            let others = try depTask.dependsOn.filter { $0 != task.id }.compactMap { d in
                try database.query("SELECT state FROM team_tasks WHERE id = ?", [SQLValue(d)]).first?[0].string.flatMap(TaskState.init(rawValue:))
            }
            if others.contains(where: \.isUnsuccessful) { continue }
            try reset(depTask, now: now, message: "back to pending: dependency \(task.id) was retried", events: &events)
        }
    }

    private func dependencies(of ids: [Int]) throws -> [Int: [Int]] {
        guard !ids.isEmpty else { return [:] }
        var out: [Int: [Int]] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let part = Array(ids[chunk..<min(ids.count, chunk + 500)])
            for row in try database.query(
                "SELECT task_id, depends_on FROM team_deps WHERE task_id IN (\(placeholders(part.count))) ORDER BY depends_on",
                part.map { SQLValue($0) }) {
                if let t = row[0].int, let d = row[1].int { out[t, default: []].append(d) }
            }
        }
        return out
    }

    private func loadTask(_ id: Int, history: Bool) throws -> TeamTask? {
        guard let row = try database.query("SELECT * FROM team_tasks WHERE id = ?", [SQLValue(id)]).first else { return nil }
        var task = try decodeTask(row, deps: try dependencies(of: [id])[id] ?? [])
        if history {
            task.history = try database.query("SELECT * FROM team_task_events WHERE task_id = ? ORDER BY id", [SQLValue(id)]).compactMap { r in
                guard let type = r["type"].string.flatMap(TaskEventType.init(rawValue:)),
                      let state = r["state"].string.flatMap(TaskState.init(rawValue:)) else { return nil }
                return TaskEventRecord(id: r["id"].int ?? 0, taskID: id, kind: task.kind, at: Date(timeIntervalSince1970: r["at"].double ?? 0),
                                       type: type, state: state, attempt: r["attempt"].int, worker: r["worker"].string,
                                       message: r["message"].string ?? "", delaySeconds: r["delay"].double)
            }
        }
        return task
    }

    private func decodeTask(_ row: SQLRow, deps: [Int]) throws -> TeamTask {
        guard let id = row["id"].int, let kindText = row["kind"].string, let stateText = row["state"].string else {
            throw DJCoreError.store("a team_tasks row is missing its id, kind or state")
        }
        guard let kind = TaskKind(rawValue: kindText), let state = TaskState(rawValue: stateText) else {
            throw DJCoreError.store("task \(id) has an unknown kind \"\(kindText)\" or state \"\(stateText)\" (written by a newer djd?)")
        }
        func date(_ c: String) -> Date? { row[c].double.map { Date(timeIntervalSince1970: $0) } }
        func value(_ c: String) throws -> JSONValue? {
            guard let text = row[c].string else { return nil }
            return try decoder.decode(JSONValue.self, from: Data(text.utf8))
        }
        return TeamTask(
            id: id, kind: kind, state: state, priority: row["priority"].int ?? 0, payload: try value("payload") ?? .null,
            dependsOn: deps, result: try value("result"), error: row["error"].string, attempts: row["attempts"].int ?? 0,
            retry: RetryPolicy(maxAttempts: row["max_attempts"].int ?? 1, baseDelay: row["backoff_base"].double ?? 0,
                               maxDelay: row["backoff_max"].double ?? 0, jitter: row["jitter"].double ?? 0),
            timeout: row["timeout"].double, notBefore: date("not_before"), worker: row["worker"].string,
            cancelRequested: row["cancel_requested"].int == 1, progress: row["progress"].double,
            progressMessage: row["progress_message"].string, workflowID: row["workflow_id"].int, stepName: row["step_name"].string,
            submittedAt: date("submitted_at") ?? Date(timeIntervalSince1970: 0), startedAt: date("started_at"),
            finishedAt: date("finished_at"))
    }

    private func loadWorkflow(_ id: Int) throws -> Workflow? {
        guard let row = try database.query("SELECT * FROM team_workflows WHERE id = ?", [SQLValue(id)]).first else { return nil }
        var steps: [String: Int] = [:]
        var states: [String: TaskState] = [:]
        for r in try database.query("SELECT id, step_name, state FROM team_tasks WHERE workflow_id = ?", [SQLValue(id)]) {
            guard let name = r["step_name"].string, let tid = r["id"].int else { continue }
            steps[name] = tid
            states[name] = r["state"].string.flatMap(TaskState.init(rawValue:)) ?? .pending
        }
        return Workflow(id: id, name: row["name"].string ?? "", steps: steps, stepStates: states,
                        createdAt: Date(timeIntervalSince1970: row["created_at"].double ?? 0))
    }
}
