import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
package import Logging
package import NIOCore
package import NIOPosix
package import NIOSSL
import OpenAPIHummingbird
import OpenAPIRuntime
package import PostgateDirectory
package import PostgateOutbound
package import PostgateStore
import ServiceLifecycle

/// The HTTP API listener: HTTP/2 and HTTP/1.1 over TLS (ALPN), or HTTP/1.1 in the clear on
/// a loopback address when the configuration allows it, on the gateway's event loops.
package struct APIServer: Sendable {
    package struct Settings: Sendable {
        package var host: String
        package var port: Int
        /// nil: plain HTTP/1.1 (allowed by the configuration only on loopback).
        package var tls: TLSConfiguration?
        /// Largest request body accepted; larger ones are answered 413 unread.
        package var maxBodyBytes: Int
        package var limits: ChannelLimits
        /// The key that seals webhook and bot secrets (`channels.secret_key_file`); nil: the
        /// data directory's `secret.key`.
        package var secretKeyPath: String?

        package init(host: String, port: Int, tls: TLSConfiguration?, maxBodyBytes: Int, limits: ChannelLimits, secretKeyPath: String? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
            self.maxBodyBytes = maxBodyBytes
            self.limits = limits
            self.secretKeyPath = secretKeyPath
        }
    }

    let application: any ApplicationProtocol
    let serviceGroup: ServiceGroup

    /// - Parameter bound: called with the listener's address once it is bound.
    package init(settings: Settings, store: MailStore, outbound: OutboundQueue, threadPool: NIOThreadPool,
                 eventLoopGroup: any EventLoopGroup, logger: Logger,
                 readiness: @escaping @Sendable () async -> [APIReadinessCheck],
                 metrics: @escaping @Sendable () async -> [UInt8],
                 bound: @escaping @Sendable (SocketAddress?) async -> Void) throws {
        let maxBodyBytes = settings.maxBodyBytes
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let document = try? Data(contentsOf: url) else {
            throw APIDocumentMissing()
        }
        let router = Router()
        router.add(middleware: APIRouterMiddleware(maxBodyBytes: maxBodyBytes, paths: APIPaths(document: document)))
        router.get("openapi.yaml") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        let handler = APIHandler(store: store, outbound: outbound, threadPool: threadPool, limits: settings.limits,
                                 secretKeyPath: settings.secretKeyPath, readiness: readiness, metrics: metrics)
        let access = APIAccessMiddleware(store: store, threadPool: threadPool, limiter: APIRateLimiter())
        let contract = APIContractMiddleware(contract: try APIContract(document: document), maxBodyBytes: maxBodyBytes)
        try handler.registerHandlers(on: router, middlewares: [APIProblemMiddleware(logger: logger), access, contract])
        let server: HTTPServerBuilder = if let tls = settings.tls { try .http2Upgrade(tlsConfiguration: tls) } else { .http1() }
        let address = BindAddress.hostname(settings.host, port: settings.port)
        let application = Application(
            router: router, server: server,
            configuration: .init(address: address, serverName: "Postgate"),
            onServerRunning: { channel in await bound(channel.localAddress) },
            eventLoopGroupProvider: .shared(eventLoopGroup), logger: logger)
        self.application = application
        self.serviceGroup = ServiceGroup(configuration: .init(services: [application], logger: logger))
    }

    /// Serves until `shutdown()`: requests in flight finish first.
    package func run() async throws {
        try await serviceGroup.run()
    }

    package func shutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }
}

/// What the router itself answers: a path or method the API does not have, and a body over
/// the limit, as problem details like every other error.
struct APIRouterMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int
    let paths: APIPaths

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var request = request
            if request.method != .get, request.method != .head {
                if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
                    return Self.response(APIProblem(status: .contentTooLarge, kind: "too-large",
                                                    detail: "the body has \(length) bytes; at most \(maxBodyBytes) are accepted"))
                }
                _ = try await request.collectBody(upTo: maxBodyBytes)
            }
            return try await next(request, context)
        } catch let error as HTTPError {
            let problem: APIProblem = switch error.status {
            case .notFound where paths.methods(of: request.uri.path) != nil:
                // RFC 9110 §15.5.6: the path exists, the method does not; Allow lists those it has.
                APIProblem(status: .methodNotAllowed, kind: "method-not-allowed", detail: "this path does not take \(request.method)",
                           headerFields: [.allow: (paths.methods(of: request.uri.path) ?? []).joined(separator: ", ")])
            case .notFound: .notFound("there is no such path in this API; see /openapi.yaml")
            case .methodNotAllowed: APIProblem(status: .methodNotAllowed, kind: "method-not-allowed", detail: "this path does not take \(request.method)")
            case .contentTooLarge: APIProblem(status: .contentTooLarge, kind: "too-large", detail: "the body is larger than \(maxBodyBytes) bytes")
            default: APIProblem(status: error.status, kind: "bad-request", detail: error.body ?? error.status.reasonPhrase)
            }
            return Self.response(problem)
        }
    }

    static func response(_ problem: APIProblem) -> Response {
        var headers = HTTPFields(problem.headerFields)
        headers[.contentType] = "application/problem+json"
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: problem.body())))
    }
}

/// The API's paths and their methods, read from the OpenAPI document the server is generated
/// from, so that a known path with an unknown method is answered 405, not 404.
struct APIPaths: Sendable {
    private var templates: [(segments: [Substring], methods: [String])] = []

    init(document: Data) {
        let text = String(decoding: document, as: UTF8.self)
        var current: (segments: [Substring], methods: [String])?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            guard inPaths else { continue }
            if let first = line.first, first != " " { break }  // the next top-level key
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                if let current { templates.append(current) }
                current = (line.dropFirst(2).dropLast().split(separator: "/"), [])
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let key = line.dropFirst(4).dropLast()
                if ["get", "put", "post", "delete", "patch", "head", "options"].contains(key) { current?.methods.append(key.uppercased()) }
            }
        }
        if let current { templates.append(current) }
        templates = templates.filter { !$0.methods.isEmpty }
        templates.append((["openapi.yaml"], ["GET"]))
    }

    /// The methods of the path `path` matches, or nil when it matches none.
    func methods(of path: String) -> [String]? {
        let segments = path.split(separator: "/")
        return templates.first { template in
            template.segments.count == segments.count
                && zip(template.segments, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map { $0.methods.contains("GET") ? $0.methods + ["HEAD"] : $0.methods }
    }
}

/// The OpenAPI document is missing from the build's resources.
struct APIDocumentMissing: Error, CustomStringConvertible {
    var description: String { "the API's OpenAPI document is missing from the build" }
}
