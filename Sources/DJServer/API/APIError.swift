import DJCore
import Foundation
import Hummingbird

/// The one error shape of the API, on HTTP and on the WebSocket:
/// `{"error": {"status": 400, "code": "invalid_argument", "message": "'rate' 3.0 is outside 0.5 ... 2.0"}}`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String

    public init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func badRequest(_ m: String) -> APIError { APIError(400, "invalid_argument", m) }
    public static func notFound(_ m: String) -> APIError { APIError(404, "not_found", m) }

    /// Maps any error to what the client sees. DJCore's errors keep their words; anything unexpected is a
    /// 500 that still says what happened.
    public init(_ error: any Error) {
        switch error {
        case let e as APIError: self = e
        case let e as DJCoreError:
            switch e {
            case .invalidArgument(let m): self = .badRequest(m)
            case .notFound(let m): self = .notFound(m)
            case .conflict(let m): self = APIError(409, "conflict", m)
            case .cancelled(let m): self = APIError(409, "cancelled", m)
            case .timedOut(let m): self = APIError(504, "timed_out", m)
            case .trackLoad: self = APIError(422, "track_load", e.description)
            case .commandQueueFull: self = APIError(503, "engine_busy", e.description)
            case .audioDevice: self = APIError(503, "audio_device", e.description)
            case .fileWrite: self = APIError(500, "file_write", e.description)
            case .store: self = APIError(500, "store", e.description)
            case .engineCreate: self = APIError(500, "engine", e.description)
            }
        case let e as any HTTPResponseError:
            let status = Int(e.status.code)
            let given = (e as? HTTPError)?.body
            switch status {
            case 404: self = APIError(404, "not_found", given ?? "no such path")
            case 405: self = APIError(405, "method_not_allowed", given ?? "this path does not take that method")
            case 413: self = APIError(413, "body_too_large", given ?? "the request body is larger than the daemon accepts")
            default: self = APIError(status, "http_\(status)", given ?? e.status.reasonPhrase)
            }
        default:
            self = APIError(500, "internal", "\(error)")
        }
    }

    /// `{"error": {...}}` as JSON bytes.
    public var json: Data {
        let body: JSONValue = .object(["error": .object([
            "status": .number(Double(status)), "code": .string(code), "message": .string(message),
        ])])
        return (try? APIJSON.encoder.encode(body)) ?? Data("{\"error\":{}}".utf8)
    }
}

/// The JSON coders the API uses everywhere (HTTP and WebSocket).
public enum APIJSON {
    /// Sorted keys, ISO-8601 dates; a non-finite number (a silent gain of −inf dB) is written as the
    /// strings "-inf" / "inf" / "nan" rather than failing the whole answer.
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// Any Encodable as a JSONValue (to embed it in a larger answer).
    public static func value(_ v: some Encodable) throws -> JSONValue {
        try decoder.decode(JSONValue.self, from: encoder.encode(v))
    }
}
