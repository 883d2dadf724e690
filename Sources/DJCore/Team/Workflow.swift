import Foundation

/// A request to `TeamManager.coordinate`: a named template or an explicit list of steps.
///
/// Templates:
/// - `"prepare-track"` with `path` (and optionally `playlist`): three tasks,
///   `analyse {path}` -> `separate {path, analysis}` -> `playlist {action: "add", path, playlist?,
///   analysis, stems}`, where `analysis` is the analyse step's whole result and `stems` the separate
///   step's (placeholders `$steps.analyse.result` and `$steps.separate.result`, resolved at dispatch).
///   Without `playlist` the playlist handler adds the track to the live play queue.
///
/// JSON: `{"template": "prepare-track", "path": "/music/a.flac", "playlist": "friday"}` or
/// `{"name": "stems-then-render", "steps": [{"name": "a", "kind": "analyse", ...}, ...]}`.
public struct WorkflowRequest: Codable, Sendable, Equatable {
    public var template: String?
    public var path: String?
    /// Passed through to the playlist step's payload as given (a name or an id).
    public var playlist: JSONValue?
    public var name: String?
    public var steps: [TaskStep]?
    /// Added to every step's priority.
    public var priority: Int?

    public init(template: String? = nil, path: String? = nil, playlist: JSONValue? = nil, name: String? = nil,
                steps: [TaskStep]? = nil, priority: Int? = nil) {
        self.template = template; self.path = path; self.playlist = playlist; self.name = name
        self.steps = steps; self.priority = priority
    }

    /// The "prepare-track" template.
    public static func prepareTrack(path: String, playlist: JSONValue? = nil, priority: Int? = nil) -> WorkflowRequest {
        WorkflowRequest(template: "prepare-track", path: path, playlist: playlist, priority: priority)
    }

    /// Explicit steps.
    public static func steps(_ name: String, _ steps: [TaskStep], priority: Int? = nil) -> WorkflowRequest {
        WorkflowRequest(name: name, steps: steps, priority: priority)
    }

    /// The known template names.
    public static let templates = ["prepare-track"]

    /// The workflow's name and its steps; throws `invalidArgument` naming the bad field.
    func expand() throws -> (name: String, steps: [TaskStep]) {
        let bump = priority ?? 0
        if let template {
            guard steps == nil else {
                throw DJCoreError.invalidArgument("steps: give either a template or steps, not both (template is \"\(template)\")")
            }
            switch template {
            case "prepare-track":
                guard let path, !path.isEmpty else {
                    throw DJCoreError.invalidArgument("path: the prepare-track template needs the path of a track")
                }
                var add: [String: JSONValue] = ["action": .string("add"), "path": .string(path),
                                                "analysis": .string("$steps.analyse.result"),
                                                "stems": .string("$steps.separate.result")]
                if let playlist { add["playlist"] = playlist }
                return (name ?? "prepare-track", [
                    TaskStep(name: "analyse", kind: .analyse, payload: .object(["path": .string(path)]), priority: bump),
                    TaskStep(name: "separate", kind: .separate,
                             payload: .object(["path": .string(path), "analysis": .string("$steps.analyse.result")]),
                             dependsOn: ["analyse"], priority: bump),
                    TaskStep(name: "playlist", kind: .playlist, payload: .object(add), dependsOn: ["separate"], priority: bump),
                ])
            default:
                throw DJCoreError.invalidArgument(
                    "template: \"\(template)\" is not a workflow template (one of \(Self.templates.joined(separator: ", ")))")
            }
        }
        guard var steps, !steps.isEmpty else {
            throw DJCoreError.invalidArgument("steps: a workflow needs a template or at least one step")
        }
        let name = name ?? "workflow"
        guard !name.isEmpty, name.count <= 200 else {
            throw DJCoreError.invalidArgument("name: \"\(name)\" must be 1 to 200 characters")
        }
        for i in steps.indices { steps[i].task.priority += bump }
        return (name, steps)
    }
}

/// A multi-step piece of work: its tasks by step name, and a state derived from theirs.
public struct Workflow: Codable, Sendable, Equatable, Identifiable {
    public var id: Int
    public var name: String
    /// Task id of each step.
    public var steps: [String: Int]
    /// pending (nothing started), running (some started or done, none failed), succeeded (all),
    /// failed (a task failed or was dead-lettered), cancelled (a task was cancelled, none failed).
    public var state: WorkflowState
    /// The state of each step's task.
    public var stepStates: [String: TaskState]
    public var createdAt: Date

    public init(id: Int, name: String, steps: [String: Int], stepStates: [String: TaskState], createdAt: Date) {
        self.id = id; self.name = name; self.steps = steps; self.stepStates = stepStates; self.createdAt = createdAt
        self.state = WorkflowState(stepStates.values)
    }
}

/// The state of a workflow as a whole. JSON: the raw value.
public enum WorkflowState: String, Codable, Sendable {
    case pending, running, succeeded, failed, cancelled

    init<S: Sequence>(_ states: S) where S.Element == TaskState {
        let all = Array(states)
        if all.contains(where: { $0 == .failed || $0 == .deadLettered }) { self = .failed }
        else if all.contains(.cancelled) { self = .cancelled }
        else if !all.isEmpty, all.allSatisfy({ $0 == .succeeded }) { self = .succeeded }
        else if all.contains(where: { $0 == .running || $0 == .succeeded || $0 == .retryWait }) { self = .running }
        else { self = .pending }
    }
}
