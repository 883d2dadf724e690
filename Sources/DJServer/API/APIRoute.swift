import DJCore
import Foundation

/// Who may call a route.
public enum APIAccess: String, Sendable, Codable {
    /// Reads state. Open on loopback (unless the daemon is told otherwise); elsewhere a token of either role.
    case read
    /// Changes something: needs a token with the `admin` role.
    case write
}

/// Roles a bearer token can have.
public enum APIRole: String, Sendable, Codable {
    case admin
    case readOnly = "read-only"
    /// No token was given (allowed for reads on loopback only).
    case anonymous
}

public enum HTTPMethodName: String, Sendable, Codable, CaseIterable {
    case GET, POST, PUT, PATCH, DELETE
}

/// One call into the API, whether it came over HTTP or as a WebSocket message.
public struct APIRequest: Sendable {
    public var method: HTTPMethodName
    public var path: String
    /// Path parameters (`{n}` in the route's pattern).
    public var parameters: [String: String]
    public var query: [String: String]
    /// The decoded JSON body (nil when there was none).
    public var body: JSONValue?
    public var role: APIRole

    /// The JSON body as an object (an empty one if there was no body). Anything else is a 400.
    public func fields() throws -> Fields {
        switch body {
        case nil, .null?: return Fields([:], where: "the request body")
        case let .object(o)?: return Fields(o, where: "the request body")
        case let other?: throw APIError.badRequest("the request body must be a JSON object, got \(other.kindDescription)")
        }
    }

    /// A path parameter as an integer in `range`.
    public func intParameter(_ name: String, in range: ClosedRange<Int>? = nil, what: String? = nil) throws -> Int {
        let label = what ?? name
        guard let text = parameters[name], let v = Int(text) else {
            throw APIError.badRequest("\(label) '\(parameters[name] ?? "")' is not a whole number")
        }
        if let range, !range.contains(v) {
            throw APIError.notFound("\(label) \(v) does not exist (\(range.lowerBound) ... \(range.upperBound))")
        }
        return v
    }

    public func int64Parameter(_ name: String, what: String? = nil) throws -> Int64 {
        guard let text = parameters[name], let v = Int64(text) else {
            throw APIError.badRequest("\(what ?? name) '\(parameters[name] ?? "")' is not a whole number")
        }
        return v
    }

    /// A query parameter as an integer in `range` (nil when absent).
    public func intQuery(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = query[name] else { return nil }
        guard let v = Int(text), range.contains(v) else {
            throw APIError.badRequest("query parameter '\(name)' must be a whole number in \(range.lowerBound) ... \(range.upperBound), got '\(text)'")
        }
        return v
    }
}

/// What a route answers: a status and an encodable body (or raw text, for /metrics).
public struct APIReply: Sendable {
    public var status: Int
    public var json: Data?
    public var text: String?
    public var contentType: String

    public static func ok(_ value: some Encodable, status: Int = 200) throws -> APIReply {
        APIReply(status: status, json: try APIJSON.encoder.encode(value), text: nil, contentType: "application/json")
    }

    public static func text(_ text: String, contentType: String) -> APIReply {
        APIReply(status: 200, json: nil, text: text, contentType: contentType)
    }

    /// 204-style answers still carry a small JSON body so WebSocket clients see something.
    public static func done(_ message: String = "ok") throws -> APIReply {
        try .ok(["result": message])
    }
}

/// A route of the API: method, path pattern with `{name}` parameters, who may call it, its
/// documentation (used to build the OpenAPI document) and its handler.
public struct APIRoute: Sendable {
    public var method: HTTPMethodName
    public var pattern: String
    public var access: APIAccess
    public var tag: String
    public var summary: String
    /// JSON Schema of the request body, if it takes one.
    public var requestSchema: JSONValue?
    /// Status of a successful answer (200, 201, 202).
    public var successStatus: Int
    public var handler: @Sendable (APIRequest) async throws -> APIReply

    public init(_ method: HTTPMethodName, _ pattern: String, _ access: APIAccess, tag: String, summary: String,
                body: JSONValue? = nil, success: Int = 200,
                handler: @escaping @Sendable (APIRequest) async throws -> APIReply) {
        self.method = method
        self.pattern = pattern
        self.access = access
        self.tag = tag
        self.summary = summary
        self.requestSchema = body
        self.successStatus = success
        self.handler = handler
    }

    var segments: [Substring] { pattern.split(separator: "/") }

    /// The path parameters if `path` matches this route's pattern.
    func match(_ path: String) -> [String: String]? {
        let want = segments
        let got = path.split(separator: "/")
        guard want.count == got.count else { return nil }
        var params: [String: String] = [:]
        for (w, g) in zip(want, got) {
            if w.hasPrefix("{") && w.hasSuffix("}") {
                params[String(w.dropFirst().dropLast())] = String(g).removingPercentEncoding ?? String(g)
            } else if w != g {
                return nil
            }
        }
        return params
    }
}

/// All routes, and the dispatch the WebSocket uses (HTTP goes through Hummingbird's router, built from
/// the same table).
public struct APIRouteTable: Sendable {
    public private(set) var routes: [APIRoute] = []

    public init() {}

    public mutating func add(_ route: APIRoute) {
        routes.append(route)
    }

    public mutating func add(_ more: [APIRoute]) {
        routes += more
    }

    /// The route for `method` + `path`, or the error HTTP would give (404 no such path, 405 wrong method).
    public func resolve(_ method: HTTPMethodName, _ path: String) throws -> (APIRoute, [String: String]) {
        var pathMatched = false
        for r in routes {
            guard let p = r.match(path) else { continue }
            pathMatched = true
            if r.method == method { return (r, p) }
        }
        if pathMatched { throw APIError(405, "method_not_allowed", "\(path) does not take \(method.rawValue)") }
        throw APIError.notFound("no such path: \(path)")
    }
}

/// A JSON object from a request, read field by field with messages that say what is wrong.
public struct Fields: Sendable {
    public let object: [String: JSONValue]
    let place: String

    public init(_ object: [String: JSONValue], where place: String) {
        self.object = object
        self.place = place
    }

    public var isEmpty: Bool { object.isEmpty }
    public func has(_ key: String) -> Bool { object[key] != nil && object[key] != .null }

    /// Refuses keys not in `allowed` (a typo such as "rat" would otherwise be ignored silently).
    public func only(_ allowed: [String]) throws {
        let unknown = object.keys.filter { !allowed.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw APIError.badRequest("unknown field\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in \(place); expected \(allowed.map { "'\($0)'" }.joined(separator: ", "))")
        }
    }

    private func missing(_ key: String) -> APIError {
        APIError.badRequest("'\(key)' is required in \(place)")
    }

    private func wrong(_ key: String, _ want: String, _ got: JSONValue) -> APIError {
        APIError.badRequest("'\(key)' must be \(want), got \(got.kindDescription)")
    }

    public func optionalString(_ key: String, maxLength: Int = 4096) throws -> String? {
        guard let v = object[key], v != .null else { return nil }
        guard case let .string(s) = v else { throw wrong(key, "a string", v) }
        guard s.count <= maxLength else { throw APIError.badRequest("'\(key)' is longer than \(maxLength) characters") }
        return s
    }

    public func string(_ key: String, maxLength: Int = 4096) throws -> String {
        guard let s = try optionalString(key, maxLength: maxLength) else { throw missing(key) }
        guard !s.isEmpty else { throw APIError.badRequest("'\(key)' must not be empty") }
        return s
    }

    public func optionalDouble(_ key: String, in range: ClosedRange<Double>? = nil, unit: String = "") throws -> Double? {
        guard let v = object[key], v != .null else { return nil }
        guard case let .number(d) = v, d.isFinite else { throw wrong(key, "a number", v) }
        if let range, !range.contains(d) {
            throw APIError.badRequest("'\(key)' \(fmt(d))\(unit) is outside \(fmt(range.lowerBound)) ... \(fmt(range.upperBound))\(unit)")
        }
        return d
    }

    public func double(_ key: String, in range: ClosedRange<Double>? = nil, unit: String = "") throws -> Double {
        guard let d = try optionalDouble(key, in: range, unit: unit) else { throw missing(key) }
        return d
    }

    public func optionalInt(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let v = object[key], v != .null else { return nil }
        guard case let .number(d) = v, d.isFinite, d == d.rounded(), abs(d) < 9e15 else { throw wrong(key, "a whole number", v) }
        let i = Int(d)
        if let range, !range.contains(i) {
            throw APIError.badRequest("'\(key)' \(i) is outside \(range.lowerBound) ... \(range.upperBound)")
        }
        return i
    }

    public func int(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int {
        guard let i = try optionalInt(key, in: range) else { throw missing(key) }
        return i
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let v = object[key], v != .null else { return nil }
        guard case let .bool(b) = v else { throw wrong(key, "true or false", v) }
        return b
    }

    public func optionalObject(_ key: String) throws -> Fields? {
        guard let v = object[key], v != .null else { return nil }
        guard case let .object(o) = v else { throw wrong(key, "an object", v) }
        return Fields(o, where: "'\(key)'")
    }

    public func optionalArray(_ key: String) throws -> [JSONValue]? {
        guard let v = object[key], v != .null else { return nil }
        guard case let .array(a) = v else { throw wrong(key, "a list", v) }
        return a
    }

    /// A string that must be one of `choices`.
    public func optionalChoice(_ key: String, _ choices: [String]) throws -> String? {
        guard let s = try optionalString(key) else { return nil }
        guard choices.contains(s) else {
            throw APIError.badRequest("'\(key)' must be one of \(choices.map { "'\($0)'" }.joined(separator: ", ")), got '\(s)'")
        }
        return s
    }

    public func value(_ key: String) -> JSONValue? { object[key] }
}

func fmt(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
}
