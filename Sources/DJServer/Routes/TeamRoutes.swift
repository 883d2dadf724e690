import DJCore
import Foundation

extension APIRequest {
    /// Decodes the body as `T` (DJCore's Codable request types); a mismatch is a 400 naming the field.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard let body else { throw APIError.badRequest("this call needs a JSON body") }
        let data = try APIJSON.encoder.encode(body)
        do {
            return try APIJSON.decoder.decode(T.self, from: data)
        } catch let e as DJCoreError {
            throw e
        } catch let e as DecodingError {
            throw APIError.badRequest(Self.describe(e))
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [CodingKey]) -> String {
            p.isEmpty ? "the body" : "'" + p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[") + "'"
        }
        switch e {
        case let .keyNotFound(key, ctx): return "'\(key.stringValue)' is required in \(path(ctx.codingPath))"
        case let .typeMismatch(type, ctx): return "\(path(ctx.codingPath)) must be \(describe(type))"
        case let .valueNotFound(type, ctx): return "\(path(ctx.codingPath)) must be \(describe(type)), not null"
        case let .dataCorrupted(ctx): return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let n = "\(type)"
            return n.hasPrefix("Array") ? "a list" : n.hasPrefix("Dictionary") ? "an object" : "a \(n)"
        }
    }
}

extension DJServerApp {
    static let taskSpecSchema = Schema.object([
        "kind": Schema.string(nil, enum: TaskKind.allCases.map(\.rawValue)),
        "payload": Schema.any,
        "priority": Schema.integer(-100, 100, "higher runs first"),
        "dependsOn": Schema.array(Schema.integer(1)),
        "timeout": Schema.number(0, nil, "seconds one attempt may run"),
        "maxAttempts": Schema.integer(1, 100),
        "backoffBase": Schema.number(0, nil, "s"), "backoffMax": Schema.number(0, nil, "s"), "jitter": Schema.number(0, 1),
    ], required: ["kind"])

    static func teamRoutes(_ d: Daemon) -> [APIRoute] {
        let team = d.team
        var r: [APIRoute] = []
        r.append(APIRoute(.POST, "/api/team/tasks", .write, tag: "team",
                          summary: "Submit a task, or a batch {\"steps\": [{name, kind, payload, dependsOn: [step names]}]}",
                          body: taskSpecSchema, success: 201) { req in
            let f = try req.fields()
            if f.has("steps") {
                try f.only(["steps"])
                let steps = try req.decode([String: [TaskStep]].self)["steps"] ?? []
                return try .ok(try await d.offload { try team.submit(batch: steps) }, status: 201)
            }
            let spec = try req.decode(TaskSpec.self)
            return try .ok(try await d.offload { try team.submit(spec) }, status: 201)
        })
        r.append(APIRoute(.GET, "/api/team/tasks", .read, tag: "team",
                          summary: "List tasks; filters: state, kind (comma-separated), workflow, limit, offset") { req in
            var filter = TaskFilter()
            if let s = req.query["state"] {
                filter.states = try s.split(separator: ",").map { part in
                    guard let st = TaskState(rawValue: String(part)) else {
                        throw APIError.badRequest("state '\(part)' is not one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return st
                }
            }
            if let k = req.query["kind"] {
                filter.kinds = try k.split(separator: ",").map { try TaskKind(parsing: String($0)) }
            }
            filter.workflowID = try req.intQuery("workflow", in: 1...Int.max)
            filter.limit = try req.intQuery("limit", in: 1...1000) ?? 100
            filter.offset = try req.intQuery("offset", in: 0...Int.max) ?? 0
            return try .ok(try team.list(filter))
        })
        r.append(APIRoute(.GET, "/api/team/tasks/{id}", .read, tag: "team", summary: "A task with its history") { req in
            let id = try req.intParameter("id", what: "task")
            return try .ok(try team.task(id: id))
        })
        r.append(APIRoute(.POST, "/api/team/tasks/{id}/cancel", .write, tag: "team", summary: "Cancel a task (a running one is asked to stop)") { req in
            let id = try req.intParameter("id", what: "task")
            return try .ok(try await d.offload { try team.cancel(id: id) })
        })
        r.append(APIRoute(.POST, "/api/team/tasks/{id}/retry", .write, tag: "team", summary: "Run a failed, cancelled or dead-lettered task again") { req in
            let id = try req.intParameter("id", what: "task")
            return try .ok(try await d.offload { try team.retry(id: id) })
        })
        r.append(APIRoute(.GET, "/api/team/deadletters", .read, tag: "team", summary: "Tasks that exhausted their retries") { _ in
            try .ok(try team.deadLetters())
        })
        r.append(APIRoute(.GET, "/api/team/resources", .read, tag: "team", summary: "Workers, slots per kind, load") { _ in
            try .ok(try team.resources())
        })
        r.append(APIRoute(.GET, "/api/team/state", .read, tag: "team", summary: "Task counts by state and kind, circuit breakers, workers") { _ in
            try .ok(try team.state())
        })
        r.append(APIRoute(.GET, "/api/team/health", .read, tag: "team", summary: "ok / degraded / failing, with reasons") { _ in
            try .ok(try team.health())
        })
        return r
    }

    static func managerRoutes(_ d: Daemon) -> [APIRoute] {
        let manager = d.manager
        var r: [APIRoute] = []
        r.append(APIRoute(.POST, "/api/manager/coordinate", .write, tag: "manager",
                          summary: "Start a workflow: a template (\"prepare-track\": analyse -> separate -> add to playlist) or explicit steps",
                          body: Schema.object([
                              "template": Schema.string(nil, enum: WorkflowRequest.templates),
                              "path": Schema.string("the track (prepare-track)"),
                              "playlist": Schema.any, "name": Schema.string(),
                              "steps": Schema.array(Schema.any), "priority": Schema.integer(-100, 100),
                          ]), success: 201) { req in
            let request = try req.decode(WorkflowRequest.self)
            return try .ok(try await d.offload { try manager.coordinate(request) }, status: 201)
        })
        r.append(APIRoute(.GET, "/api/manager/coordinate", .read, tag: "manager", summary: "Workflows and their state") { _ in
            try .ok(try manager.workflows())
        })
        r.append(APIRoute(.GET, "/api/manager/coordinate/{id}", .read, tag: "manager", summary: "One workflow") { req in
            let id = try req.intParameter("id", what: "workflow")
            return try .ok(try manager.workflow(id: id))
        })
        r.append(APIRoute(.GET, "/api/manager/monitor", .read, tag: "manager", summary: "Engine and task metrics") { _ in
            try .ok(try manager.monitor())
        })
        r.append(APIRoute(.GET, "/api/manager/balance", .read, tag: "manager", summary: "How work is spread over workers, and the settings") { _ in
            try .ok(try manager.balance())
        })
        r.append(APIRoute(.PUT, "/api/manager/balance", .write, tag: "manager",
                          summary: "Change the balance settings: workers, per-kind limits, policy (kept across restarts)",
                          body: Schema.object(["workers": Schema.integer(1, 64), "limits": Schema.any, "policy": Schema.string()])) { req in
            let settings = try req.decode(BalanceSettings.self)
            let report = try manager.setBalance(settings)
            try await d.offload { try d.rememberBalance(settings) }
            return try .ok(report)
        })
        r.append(APIRoute(.GET, "/api/manager/health", .read, tag: "manager", summary: "Manager health: tasks, workers and the engine") { _ in
            try .ok(try manager.health())
        })
        return r
    }

    static func systemRoutes(_ d: Daemon, table: APIRouteTable) -> [APIRoute] {
        var r: [APIRoute] = []
        r.append(APIRoute(.GET, "/metrics", .read, tag: "system", summary: "Prometheus metrics (text exposition format)") { _ in
            .text(d.metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        })
        r.append(APIRoute(.GET, "/api/health", .read, tag: "system", summary: "Is the daemon up (audio, workers)") { _ in
            let st = d.scheduler.stats
            return try .ok(["status": st.state == .running ? "ok" : "degraded", "audio": st.state.rawValue,
                            "uptime": String(format: "%.1f", Date().timeIntervalSince(d.startedAt))])
        })
        // the table as built so far, plus these system routes and the document itself
        var all = table
        all.add(r)
        let docRoute = APIRoute(.GET, "/openapi.json", .read, tag: "system", summary: "This API's OpenAPI 3.1 document") { _ in .text("", contentType: "") }
        all.add(docRoute)
        let document = OpenAPIDocument.build(all)
        r.append(APIRoute(.GET, "/openapi.json", .read, tag: "system", summary: "This API's OpenAPI 3.1 document") { _ in
            .text(document, contentType: "application/json")
        })
        return r
    }
}
