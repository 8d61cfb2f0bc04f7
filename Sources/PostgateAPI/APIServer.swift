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

        package init(host: String, port: Int, tls: TLSConfiguration?, maxBodyBytes: Int, limits: ChannelLimits) {
            self.host = host
            self.port = port
            self.tls = tls
            self.maxBodyBytes = maxBodyBytes
            self.limits = limits
        }
    }

    let application: any ApplicationProtocol
    let serviceGroup: ServiceGroup

    /// - Parameter bound: called with the listener's address once it is bound.
    package init(settings: Settings, store: MailStore, outbound: OutboundQueue, threadPool: NIOThreadPool,
                 eventLoopGroup: any EventLoopGroup, logger: Logger,
                 readiness: @escaping @Sendable () async -> [APIReadinessCheck],
                 bound: @escaping @Sendable (SocketAddress?) async -> Void) throws {
        let maxBodyBytes = settings.maxBodyBytes
        let router = Router()
        router.add(middleware: APIRouterMiddleware(maxBodyBytes: maxBodyBytes))
        router.get("openapi.yaml") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let data = try? Data(contentsOf: url) else {
                throw HTTPError(.notFound)
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let handler = APIHandler(store: store, outbound: outbound, threadPool: threadPool, limits: settings.limits, readiness: readiness)
        let access = APIAccessMiddleware(store: store, threadPool: threadPool, limiter: APIRateLimiter())
        try handler.registerHandlers(on: router, middlewares: [APIProblemMiddleware(logger: logger), access])
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
