/// What a task does. The handlers are registered by whoever runs the service (the daemon); DJCore only
/// schedules them. JSON: the raw value ("analyse").
public enum TaskKind: String, Codable, Sendable, CaseIterable, Hashable, CodingKeyRepresentable, Comparable {
    /// Add to or change a playlist (or the live play queue).
    case playlist
    /// Analyse a track: tempo, beats, key, loudness.
    case analyse
    /// Separate a track into stems.
    case separate
    /// Apply an effect offline.
    case effect
    /// Render a mix to a file.
    case render

    /// Parses a kind named by a user; the error names the field and lists the kinds there are.
    public init(parsing text: String, field: String = "kind") throws {
        guard let k = TaskKind(rawValue: text) else {
            throw DJCoreError.invalidArgument(
                "\(field): \"\(text)\" is not a task kind (one of \(TaskKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = k
    }

    public static func < (a: TaskKind, b: TaskKind) -> Bool { a.rawValue < b.rawValue }
}

/// Where a task is in its life. JSON: the raw value ("retryWait").
///
/// ```
/// pending --(dependencies succeeded)--> queued --(claimed)--> running --> succeeded
///                                          ^                    |  \--> failed (permanent error, dependency failed)
///                                          |                    |  \--> cancelled
///                                          +-- retryWait <------+  \--> deadLettered (attempts exhausted)
/// ```
public enum TaskState: String, Codable, Sendable, CaseIterable, Hashable, CodingKeyRepresentable {
    /// Waiting for the tasks it depends on to succeed.
    case pending
    /// Ready to run: waiting for a worker (and for a handler of its kind, a free slot, a closed breaker).
    case queued
    /// A worker is running it.
    case running
    /// An attempt failed; waits until `notBefore` for the next one.
    case retryWait
    /// Finished with a result. Never run again.
    case succeeded
    /// Finished without a result and will not be retried by itself (bad payload, failed dependency).
    case failed
    /// Cancelled by a user.
    case cancelled
    /// Failed `maxAttempts` times: on the dead-letter list until retried by hand.
    case deadLettered

    /// Succeeded, failed, cancelled or dead-lettered: nothing more happens unless retried by hand.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .cancelled, .deadLettered: return true
        case .pending, .queued, .running, .retryWait: return false
        }
    }

    /// Finished without success: its dependents can never run.
    public var isUnsuccessful: Bool { isFinished && self != .succeeded }
}
