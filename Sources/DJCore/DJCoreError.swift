import CDSP

/// Errors DJCore reports. Every case carries enough to tell a user what is wrong and where.
public enum DJCoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A track could not be loaded: which file, what kind of failure, and libsndfile's own words.
    case trackLoad(path: String, reason: TrackLoadFailure, detail: String)
    /// An output file could not be written.
    case fileWrite(path: String, detail: String)
    /// A command or setting was out of range or named something that does not exist.
    case invalidArgument(String)
    /// The command ring was full: the audio thread is not taking commands (stalled or not started).
    case commandQueueFull
    /// The C core refused to build an object with these settings.
    case engineCreate(String)
    /// A sound device could not be opened or failed; `detail` names the device and quotes ALSA.
    case audioDevice(device: String, reason: AudioDeviceFailure, detail: String)
    /// The state store (SQLite) failed: SQLite's message and the statement.
    case store(String)
    /// Something asked for by id or name does not exist ("playlist 7 does not exist").
    case notFound(String)
    /// The request conflicts with the current state ("task 12 has already finished").
    case conflict(String)
    /// Work was cancelled before it finished.
    case cancelled(String)
    /// Work ran longer than it was allowed to.
    case timedOut(String)

    public var description: String {
        switch self {
        case let .trackLoad(path, reason, detail): return "\(path): \(reason.rawValue): \(detail)"
        case let .fileWrite(path, detail): return "\(path): \(detail)"
        case let .invalidArgument(m): return m
        case .commandQueueFull: return "the engine's command queue is full (is the audio thread running?)"
        case let .engineCreate(m): return "cannot create the engine: \(m)"
        case let .audioDevice(_, _, detail): return detail
        case let .store(m): return "state store: \(m)"
        case let .notFound(m), let .conflict(m), let .cancelled(m), let .timedOut(m): return m
        }
    }
}

/// Why a sound device could not be used.
public enum AudioDeviceFailure: String, Sendable, Codable {
    case notFound = "no such device"
    case busy = "busy"
    case unsupported = "cannot do what was asked"
    case failed = "failed"
    case timeout = "stopped taking audio"
    case invalid = "invalid request"

    init(_ s: cdsp_status) {
        switch s {
        case CDSP_ERR_DEVICE_NOT_FOUND: self = .notFound
        case CDSP_ERR_DEVICE_BUSY: self = .busy
        case CDSP_ERR_DEVICE_UNSUPPORTED: self = .unsupported
        case CDSP_ERR_DEVICE_TIMEOUT: self = .timeout
        case CDSP_ERR_INVALID_ARGUMENT: self = .invalid
        default: self = .failed
        }
    }
}

/// Why a track failed to load.
public enum TrackLoadFailure: String, Sendable, Codable {
    case notFound = "file not found"
    case unreadable = "cannot be read"
    case unsupported = "unsupported format"
    case corrupt = "corrupt"
    case truncated = "truncated"
    case empty = "no audio"
    case tooLong = "too long"
    case other = "cannot be loaded"

    init(_ s: cdsp_status) {
        switch s {
        case CDSP_ERR_FILE_NOT_FOUND: self = .notFound
        case CDSP_ERR_FILE_UNREADABLE: self = .unreadable
        case CDSP_ERR_FILE_UNSUPPORTED: self = .unsupported
        case CDSP_ERR_FILE_CORRUPT: self = .corrupt
        case CDSP_ERR_FILE_TRUNCATED: self = .truncated
        case CDSP_ERR_FILE_EMPTY: self = .empty
        case CDSP_ERR_TOO_LONG: self = .tooLong
        default: self = .other
        }
    }
}

extension cdsp_status {
    var message: String { String(cString: cdsp_status_string(self)) }
}

/// Calls a C function that fills a message buffer and returns the message as a String.
func withMessageBuffer<T>(_ body: (UnsafeMutablePointer<CChar>, Int) -> T) -> (T, String) {
    var buffer = [CChar](repeating: 0, count: 512)
    let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (result, message)
}

/// The text of a fixed-size C `char` array (a tuple in Swift), up to its first NUL.
func cString<T>(fixed array: T) -> String {
    withUnsafeBytes(of: array) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
}
