import Foundation

/// Validation of submissions, batch planning (names, cycles, topological order) and the
/// `$steps.<name>.result...` placeholders.
extension TeamService {
    /// A validated insert for one spec; `field` prefixes error messages ("steps[2].").
    func makeInsert(_ spec: TaskSpec, field: String, batchDeps: [Int], stepName: String?) throws -> TaskInsert {
        let retry: RetryPolicy
        do { retry = try spec.resolvedRetry(configuration.retry) }
        catch let DJCoreError.invalidArgument(m) { throw DJCoreError.invalidArgument(field + m) }
        let timeout = spec.timeout ?? configuration.defaultTimeout
        if let t = spec.timeout, !(t.isFinite && t > 0) {
            throw DJCoreError.invalidArgument("\(field)timeout: \(t) s must be more than 0")
        }
        for d in spec.dependsOn where d <= 0 {
            throw DJCoreError.invalidArgument("\(field)dependsOn: \(d) is not a task id")
        }
        return TaskInsert(kind: spec.kind, payload: spec.payload, priority: spec.priority, retry: retry, timeout: timeout,
                          dependsOnIDs: spec.dependsOn, dependsOnBatch: batchDeps, stepName: stepName)
    }

    /// Checks a batch and orders it so every step comes after the steps it depends on.
    /// - Throws: `invalidArgument` for an empty batch, a bad or repeated name, an unknown step name, a
    ///   cycle ("steps a -> b -> a form a cycle"), or a placeholder naming a step it does not depend on.
    static func plan(_ steps: [TaskStep],
                     make: (TaskSpec, String, [Int], String) throws -> TaskInsert) throws -> [TaskInsert] {
        guard !steps.isEmpty else { throw DJCoreError.invalidArgument("steps: a batch needs at least one step") }
        guard steps.count <= 1000 else { throw DJCoreError.invalidArgument("steps: \(steps.count) steps is more than 1000") }
        var index: [String: Int] = [:]
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        for (i, step) in steps.enumerated() {
            guard !step.name.isEmpty, step.name.count <= 100, step.name.allSatisfy(allowed.contains) else {
                throw DJCoreError.invalidArgument("steps[\(i)].name: \"\(step.name)\" must be 1 to 100 letters, digits, - or _")
            }
            if let j = index[step.name] {
                throw DJCoreError.invalidArgument("steps[\(i)].name: \"\(step.name)\" is already the name of steps[\(j)]")
            }
            index[step.name] = i
        }
        var edges: [[Int]] = Array(repeating: [], count: steps.count)
        for (i, step) in steps.enumerated() {
            for name in step.dependsOn {
                guard let j = index[name] else {
                    throw DJCoreError.invalidArgument("steps[\(i)].dependsOn: no step is named \"\(name)\" (step \(step.name))")
                }
                if !edges[i].contains(j) { edges[i].append(j) }
            }
        }
        if let cycle = findCycle(edges) {
            let names = (cycle + [cycle[0]]).map { steps[$0].name }
            throw DJCoreError.invalidArgument("steps: \(names.joined(separator: " -> ")) depend on each other in a cycle; nothing was submitted")
        }
        // Topological order, keeping the given order where the dependencies allow (Kahn).
        var placed: [Int: Int] = [:]
        var order: [Int] = []
        while order.count < steps.count {
            guard let next = steps.indices.first(where: { placed[$0] == nil && edges[$0].allSatisfy { placed[$0] != nil } }) else { break }
            placed[next] = order.count
            order.append(next)
        }
        // Placeholders must name a step this one depends on, directly or not.
        func ancestors(_ i: Int) -> Set<Int> {
            var seen: Set<Int> = []
            var stack = edges[i]
            while let j = stack.popLast() {
                if seen.insert(j).inserted { stack += edges[j] }
            }
            return seen
        }
        for (i, step) in steps.enumerated() {
            let ups = ancestors(i)
            for p in placeholders(in: step.task.payload) {
                let ref = try Placeholder(p, field: "steps[\(i)].payload")
                guard let j = index[ref.step] else {
                    throw DJCoreError.invalidArgument("steps[\(i)].payload: \"\(p)\" names no step of this batch")
                }
                guard ups.contains(j) else {
                    throw DJCoreError.invalidArgument("steps[\(i)].payload: \"\(p)\" uses step \(ref.step), which step \(step.name) does not depend on")
                }
            }
        }
        return try order.map { i in
            try make(steps[i].task, "steps[\(i)].", edges[i].map { placed[$0]! }.sorted(), steps[i].name)
        }
    }

    /// A cycle as a list of step positions, or nil.
    private static func findCycle(_ edges: [[Int]]) -> [Int]? {
        var color = Array(repeating: 0, count: edges.count) // 0 new, 1 on the path, 2 done
        var path: [Int] = []
        func visit(_ i: Int) -> [Int]? {
            color[i] = 1
            path.append(i)
            for j in edges[i] {
                if color[j] == 1, let start = path.firstIndex(of: j) { return Array(path[start...]) }
                if color[j] == 0, let c = visit(j) { return c }
            }
            path.removeLast()
            color[i] = 2
            return nil
        }
        for i in edges.indices where color[i] == 0 {
            if let c = visit(i) { return c }
        }
        return nil
    }

    /// Every string in `value` that starts with "$steps.".
    static func placeholders(in value: JSONValue) -> [String] {
        switch value {
        case let .string(s): return s.hasPrefix("$steps.") ? [s] : []
        case let .array(a): return a.flatMap(placeholders(in:))
        case let .object(o): return o.keys.sorted().flatMap { placeholders(in: o[$0]!) }
        case .null, .bool, .number: return []
        }
    }

    /// The task's payload with placeholders replaced by the results of its workflow's earlier steps.
    func resolvePlaceholders(_ task: TeamTask) throws -> JSONValue {
        guard let workflowID = task.workflowID, !Self.placeholders(in: task.payload).isEmpty else { return task.payload }
        let results = try store.stepResults(workflowID: workflowID)
        func resolve(_ v: JSONValue) throws -> JSONValue {
            switch v {
            case let .string(s) where s.hasPrefix("$steps."):
                let ref = try Placeholder(s, field: "payload")
                guard var value = results[ref.step] else {
                    throw DJCoreError.invalidArgument("payload: \"\(s)\": step \(ref.step) has no result")
                }
                for key in ref.keys {
                    guard case let .object(o) = value, let next = o[key] else {
                        throw DJCoreError.invalidArgument("payload: \"\(s)\": step \(ref.step)'s result has no key \"\(key)\"")
                    }
                    value = next
                }
                return value
            case let .array(a): return .array(try a.map(resolve))
            case let .object(o): return .object(try o.mapValues(resolve))
            default: return v
            }
        }
        return try resolve(task.payload)
    }
}

/// "$steps.<name>.result[.<key>...]".
struct Placeholder {
    let step: String
    let keys: [String]

    init(_ text: String, field: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "$steps", !parts[1].isEmpty, parts[2] == "result", !parts.dropFirst(3).contains("") else {
            throw DJCoreError.invalidArgument("\(field): \"\(text)\" is not a placeholder of the form $steps.<name>.result[.<key>...]")
        }
        step = parts[1]
        keys = Array(parts.dropFirst(3))
    }
}
