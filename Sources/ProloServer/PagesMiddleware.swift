import Hummingbird
import ProloPages

/// Sends `/`, `/ui` and everything under `/ui/` to the pages' own router, and every other path on to the JSON
/// API's not-found handling. It sits in front of the API router's not-found responder only, so no page can
/// shadow an API route, and the API's route table (which Schemas/openapi.yaml must match) holds no page.
struct PagesMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    /// The pages' router.
    let pages: RouterResponder<BasicRequestContext>

    /// Whether `path` is one of the pages'.
    static func isPage(_ path: String) -> Bool {
        path == "/" || path == PageLayout.root || path.hasPrefix(PageLayout.root + "/")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard Self.isPage(request.uri.path) else { return try await next(request, context) }
        return try await pages.respond(to: request, context: context)
    }
}
