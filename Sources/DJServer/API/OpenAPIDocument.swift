import DJCore
import Foundation

/// The OpenAPI 3.1 document the daemon serves at `/openapi.json`, built from the route table itself,
/// so every route is in it and nothing else is.
enum OpenAPIDocument {
    static func build(_ table: APIRouteTable) -> String {
        var paths: [String: [String: JSONValue]] = [:]
        let errorRef: JSONValue = ["$ref": "#/components/schemas/Error"]
        func response(_ description: String, _ schema: JSONValue? = nil) -> JSONValue {
            guard let schema else { return ["description": .string(description)] }
            return ["description": .string(description), "content": ["application/json": ["schema": schema]]]
        }
        for route in table.routes {
            var op: [String: JSONValue] = [
                "summary": .string(route.summary),
                "tags": .array([.string(route.tag)]),
                "operationId": .string(operationID(route)),
            ]
            var params: [JSONValue] = []
            for seg in route.pattern.split(separator: "/") where seg.hasPrefix("{") {
                let name = String(seg.dropFirst().dropLast())
                params.append(["name": .string(name), "in": "path", "required": .bool(true), "schema": ["type": "integer"]])
            }
            if route.pattern == "/api/team/tasks" && route.method == .GET {
                for q in ["state", "kind"] {
                    params.append(["name": .string(q), "in": "query", "schema": ["type": "string"], "description": "comma-separated"])
                }
                for q in ["workflow", "limit", "offset"] {
                    params.append(["name": .string(q), "in": "query", "schema": ["type": "integer"]])
                }
            }
            if ["/api/dj/library", "/api/dj/process"].contains(route.pattern) && route.method == .GET {
                for q in ["limit", "offset"] { params.append(["name": .string(q), "in": "query", "schema": ["type": "integer"]]) }
            }
            if !params.isEmpty { op["parameters"] = .array(params) }
            if let schema = route.requestSchema {
                op["requestBody"] = ["required": .bool(false), "content": ["application/json": ["schema": schema]]]
            }
            var responses: [String: JSONValue] = [:]
            if route.pattern == "/metrics" {
                responses["200"] = ["description": "Prometheus text format", "content": ["text/plain": ["schema": ["type": "string"]]]]
            } else {
                responses[String(route.successStatus)] = response("success", .object([:]))
            }
            responses["400"] = response("invalid request (malformed JSON, a bad or unknown field, a value out of range)", errorRef)
            responses["401"] = response("a token is needed or the one given is not valid", errorRef)
            if route.access == .write { responses["403"] = response("the read-only token cannot change anything", errorRef) }
            responses["404"] = response("no such deck, playlist, task ...", errorRef)
            responses["405"] = response("the path does not take this method", errorRef)
            if route.method != .GET {
                responses["409"] = response("conflicts with the current state", errorRef)
                responses["413"] = response("request body too large", errorRef)
                responses["422"] = response("an audio file that cannot be loaded (missing, unsupported, corrupt)", errorRef)
                responses["503"] = response("the engine is not taking commands (sound device lost)", errorRef)
            }
            responses["500"] = response("internal error", errorRef)
            op["responses"] = .object(responses)
            if route.access == .write {
                op["security"] = [["bearer": []]]
            } else {
                op["security"] = [[:], ["bearer": []]]
            }
            paths[route.pattern, default: [:]][route.method.rawValue.lowercased()] = .object(op)
        }
        paths[DJServerApp.webSocketPath] = ["get": [
            "summary": "WebSocket (upgrade): deck state at a steady rate, task and queue events as they happen; accepts the HTTP API's calls as {\"id\", \"method\", \"path\", \"body\"} and answers {\"type\": \"response\", \"id\", \"status\", \"body\" | \"error\"}. Token as Authorization header or ?token=.",
            "tags": ["system"], "operationId": "webSocket",
            "parameters": [["name": "token", "in": "query", "schema": ["type": "string"]]],
            "responses": ["101": ["description": "switching protocols"], "401": response("token not valid", errorRef)],
        ]]
        let doc: JSONValue = [
            "openapi": "3.1.0",
            "info": [
                "title": "djd — DJCore daemon API",
                "version": "1",
                "description": "Control a DJCore engine: decks, mixer and effects, playlists and the queue, processing tasks (Team Service), workflows and monitoring (Team Manager). JSON in and out; every error is {\"error\": {status, code, message}}. Mutating calls need the admin bearer token; reads are open on loopback (or need either token).",
                "license": ["name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"],
            ],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": ["Error": [
                    "type": "object", "required": ["error"],
                    "properties": ["error": [
                        "type": "object", "required": ["status", "code", "message"],
                        "properties": ["status": ["type": "integer"], "code": ["type": "string"], "message": ["type": "string"]],
                    ]],
                ]],
            ],
        ]
        let data = (try? APIJSON.encoder.encode(doc)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func operationID(_ r: APIRoute) -> String {
        let words = r.pattern.split(separator: "/").filter { $0 != "api" }.map { seg -> String in
            let s = seg.hasPrefix("{") ? "by" + seg.dropFirst().dropLast().capitalized : String(seg)
            return s.prefix(1).uppercased() + s.dropFirst()
        }
        return r.method.rawValue.lowercased() + words.joined().replacingOccurrences(of: ".", with: "")
    }
}
