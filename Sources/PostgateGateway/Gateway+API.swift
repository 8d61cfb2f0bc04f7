import Foundation
import NIOCore
import PostgateAPI
import PostgateMaildir
import PostgateOutbound
import PostgateStore

/// The HTTP API listeners (`api.listen`), each a server on the gateway's event loops.
extension Gateway {
    /// A running API listener and the task that serves it.
    struct APIListener: Sendable {
        var server: APIServer
        var task: Task<Void, Never>
    }

    /// Binds every `api.listen` address; their bound addresses. `queue` is the outbound
    /// queue; `certificate` the listeners' certificate (nil only when no listener offers TLS).
    func startAPI(store: MailStore, queue: OutboundQueue, certificate: ServerCertificate?) async throws -> [SocketAddress] {
        let settings = configuration.api
        guard !settings.listen.isEmpty else { return [] }
        let configuration = self.configuration
        let outbound = queue
        if settings.tls && certificate == nil { throw ConfigurationError("the API listener needs the TLS certificate") }
        let tls = settings.tls ? certificate?.serverConfiguration() : nil
        let scrape = metricsScrape(store: store, outbound: outbound)
        var bound: [SocketAddress] = []
        for text in settings.listen {
            let address = try ListenAddress(text)
            let (events, sink) = AsyncStream.makeStream(of: Result<SocketAddress?, any Error>.self)
            let server = try APIServer(
                settings: .init(host: address.host, port: address.port, tls: tls, maxBodyBytes: settings.maxBodyBytes,
                                limits: configuration.channels.limits,
                                secretKeyPath: configuration.channels.secretKeyFile.isEmpty ? nil : configuration.channels.secretKeyFile),
                store: store, outbound: outbound, threadPool: threadPool, eventLoopGroup: group, logger: logger,
                readiness: { [weak self] in await self?.readinessChecks(store: store) ?? [] },
                metrics: scrape,
                bound: { sink.yield(.success($0)) })
            let task = Task {
                do { try await server.run() } catch { sink.yield(.failure(error)) }
                sink.finish()
            }
            apiListeners.append(APIListener(server: server, task: task))
            var outcome: Result<SocketAddress?, any Error>?
            for await event in events {
                outcome = event
                break
            }
            switch outcome {
            case .success(let local)?:
                if let local { bound.append(local) }
                logger.notice("listening", metadata: ["api": "\(local.map { "\($0)" } ?? text)", "tls": "\(settings.tls)"])
            case .failure(let error)?:
                throw ConfigurationError("cannot listen for the API on \(text): \(error)")
            case nil:
                throw ConfigurationError("the API listener on \(text) stopped before it was bound")
            }
        }
        return bound
    }

    /// Stops the API listeners; requests in flight finish first.
    func stopAPI() async {
        for listener in apiListeners {
            await listener.server.shutdown()
            await listener.task.value
        }
        apiListeners = []
    }

    /// `/readyz`: every listener bound and recovery done, the store answering, and free
    /// space above `api.ready_min_free_bytes`.
    func readinessChecks(store: MailStore) async -> [APIReadinessCheck] {
        let started = isAccepting
        var checks = [APIReadinessCheck(name: .listeners, ok: started,
                                        detail: started ? "recovery done, every listener bound" : "starting")]
        do {
            let count = try await threadPool.runToCompletion { try store.domains().count }
            checks.append(.init(name: .store, ok: true, detail: "the index answers (\(count) domains)"))
        } catch {
            checks.append(.init(name: .store, ok: false, detail: "the index does not answer"))
        }
        let minimum = configuration.api.readyMinFreeBytes
        if let space = FileSystem.freeSpace(dataDirectory) {
            checks.append(.init(name: .disk, ok: space.available >= minimum,
                                detail: "\(space.available) bytes free, \(minimum) needed"))
        } else {
            checks.append(.init(name: .disk, ok: false, detail: "the free space of the data directory's filesystem is unknown"))
        }
        return checks
    }
}
