import DJCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The request context of every route: Hummingbird's core storage plus WebSocket support.
public struct DJRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}

/// Builds the HTTP + WebSocket application around a daemon: shared by `djd serve` and the tests
/// (which start it in-process, over a real socket).
///
/// Every route comes from one table (`DJServerApp.routes`), so HTTP, the WebSocket's commands and the
/// OpenAPI document cannot drift apart. Errors of every kind leave as the one error shape
/// (`APIError`); unknown paths, wrong methods, malformed JSON and oversized bodies included.
public enum DJServerApp {
    public static let webSocketPath = "/api/ws"

    /// The application; `onServerRunning` gets the bound port (useful with port 0).
    public static func buildApplication(
        daemon: Daemon, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let table = routes(daemon)
        let router = Router(context: DJRequestContext.self)
        router.add(middleware: ErrorShapeMiddleware(daemon: daemon, table: table))
        for route in table.routes {
            let hbPath = route.pattern.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
            router.on(RouterPath(hbPath), method: HTTPRequest.Method(rawValue: route.method.rawValue)!) { request, context in
                try await respond(route: route, request: request, context: context, daemon: daemon)
            }
        }
        // the web page: static, holds no data (it reads everything through the API), so no token
        router.get("/") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        router.ws(RouterPath(webSocketPath)) { request, _ in
            // Browsers cannot set headers on a WebSocket: the token may come as ?token= too.
            let token = bearer(request.headers[.authorization]) ?? request.uri.queryParameters["token"].map(String.init)
            do {
                _ = try authorize(token: token, access: .read, daemon: daemon)
                return .upgrade([:])
            } catch {
                return .dontUpgrade
            }
        } onUpgrade: { inbound, outbound, context in
            let token = bearer(context.request.headers[.authorization])
                ?? context.request.uri.queryParameters["token"].map(String.init)
            let role = (try? authorize(token: token, access: .read, daemon: daemon)) ?? .anonymous
            try await LiveSession(daemon: daemon, table: table, role: role).run(inbound: inbound, outbound: outbound)
        }
        let configuration = ApplicationConfiguration(
            address: .hostname(daemon.configuration.host, port: daemon.configuration.port),
            serverName: "djd")
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(maxFrameSize: 1 << 20)),
            configuration: configuration,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: daemon.logger)
    }

    /// The bearer token of an Authorization header, if any.
    static func bearer(_ header: String?) -> String? {
        guard let h = header else { return nil }
        let parts = h.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    /// The caller's role, or the 401/403 that says why not.
    ///
    /// Rules: a write needs the admin token. A read needs any valid token, except on a loopback listener
    /// with open reads (the default), where it needs none. A token that is given must be valid, always.
    static func authorize(token: String?, access: APIAccess, daemon: Daemon) throws -> APIRole {
        var role = APIRole.anonymous
        if let token {
            guard let r = daemon.tokens.role(of: token) else {
                throw APIError(401, "unauthorized", "the bearer token is not valid (see \(daemon.tokens.path))")
            }
            role = r
        }
        switch (access, role) {
        case (_, .admin): return role
        case (.read, .readOnly): return role
        case (.read, .anonymous):
            if daemon.configuration.openReads && daemon.configuration.isLoopback { return role }
            throw APIError(401, "unauthorized", "this daemon needs a bearer token for every call (Authorization: Bearer <token>; the tokens are in \(daemon.tokens.path))")
        case (.write, .readOnly):
            throw APIError(403, "forbidden", "the read-only token cannot change anything; use the admin token")
        case (.write, .anonymous):
            throw APIError(401, "unauthorized", "changing something needs the admin token (Authorization: Bearer <token>; it is in \(daemon.tokens.path))")
        }
    }

    /// One HTTP call: authorize, read and parse the body (bounded), run the handler, encode the answer.
    static func respond(route: APIRoute, request: Request, context: DJRequestContext, daemon: Daemon) async throws -> Response {
        let role = try authorize(token: bearer(request.headers[.authorization]), access: route.access, daemon: daemon)
        var body: JSONValue?
        if route.method != .GET {
            var request = request
            let buffer = try await request.collectBody(upTo: daemon.configuration.maxBodyBytes)
            if buffer.readableBytes > 0 {
                body = try parseJSON(Data(buffer.readableBytesView))
            }
        }
        var params: [String: String] = [:]
        for (k, v) in context.parameters { params[String(k)] = String(v) }
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        let req = APIRequest(method: route.method, path: request.uri.path, parameters: params, query: query, body: body, role: role)
        let reply = try await route.handler(req)
        daemon.metrics.countRequest(route: route.pattern, method: route.method.rawValue, status: reply.status)
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        let data = reply.json ?? Data((reply.text ?? "").utf8)
        return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Parses a request body; a syntax error is a 400 that says where.
    static func parseJSON(_ data: Data) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(ctx) {
            let detail = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? ctx.debugDescription
            throw APIError(400, "malformed_json", "the request body is not valid JSON: \(detail)")
        } catch {
            throw APIError(400, "malformed_json", "the request body is not valid JSON: \(error)")
        }
    }
}

/// Turns every error into the API's error shape (and counts it).
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = DJRequestContext
    let daemon: Daemon
    let table: APIRouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var e = APIError(error)
            var allow: [String] = []
            if e.status == 404 {
                // no route for this method; if the path has routes for others, it is a 405
                allow = table.routes.filter { $0.match(request.uri.path) != nil }.map(\.method.rawValue)
                if allow.contains(request.method.rawValue) { allow = [] }
                if !allow.isEmpty {
                    e = APIError(405, "method_not_allowed", "\(request.uri.path) takes \(allow.joined(separator: ", ")), not \(request.method.rawValue)")
                }
            }
            if e.status >= 500 {
                context.logger.error("\(request.method) \(request.uri.path): \(e.message)")
            }
            daemon.metrics.countRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: e.status)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if e.status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"djd\"" }
            if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
            return Response(status: .init(code: e.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: e.json)))
        }
    }
}
