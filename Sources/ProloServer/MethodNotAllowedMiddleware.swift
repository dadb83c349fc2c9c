import HTTPTypes
import Hummingbird
import NIOCore
import ProloDomain

/// Answers a known path asked with a method it does not have: 405 with `Allow` and a JSON error body
/// (RFC 9110 §15.5.6), instead of the router's 404, which would say the path does not exist.
///
/// It sits in front of the router's not-found responder, so a route's own 404 (an unknown patient) is untouched.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each registered path's segments (a capture, `{name}` or `:name`, matches any one segment) and its methods.
    private let paths: [(segments: [Substring], methods: [HTTPRequest.Method])]

    /// The table of `routes` (path and method, as the router lists them).
    init(routes: [(path: String, method: HTTPRequest.Method)]) {
        var table: [String: [HTTPRequest.Method]] = [:]
        var order: [String] = []
        for route in routes {
            if table[route.path] == nil { order.append(route.path) }
            table[route.path, default: []].append(route.method)
        }
        paths = order.map { path in (Self.segments(of: path), table[path] ?? []) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = methods(for: request.uri.path), !allowed.contains(request.method) else { throw error }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            let body = CanonicalJSON.encode(
                .object([
                    "error": .object([
                        "code": .string("method-not-allowed"),
                        "message": .string("\(request.uri.path) answers \(allow), not \(request.method.rawValue)"),
                    ])
                ]))
            return Response(
                status: .methodNotAllowed, headers: [.allow: allow, .contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// The methods of the registered path `path` matches, or `nil` when it matches none.
    func methods(for path: String) -> [HTTPRequest.Method]? {
        let asked = Self.segments(of: path)
        let matched = paths.filter { pattern in
            pattern.segments.count == asked.count
                && zip(pattern.segments, asked).allSatisfy { $0.hasPrefix("{") || $0.hasPrefix(":") || $0 == $1 }
        }
        return matched.isEmpty ? nil : matched.flatMap(\.methods)
    }

    private static func segments(of path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
