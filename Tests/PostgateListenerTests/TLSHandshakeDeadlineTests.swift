import NIOCore
import NIOPosix
import NIOTLS
import PostgateListener
import Testing

/// The deadline handler on a real loopback connection: a client that never completes a
/// handshake is disconnected; one that does keeps its connection.
@Suite struct TLSHandshakeDeadlineTests {
    /// Announces a finished handshake when the first byte arrives (or, with `atOnce`, as
    /// soon as the connection is accepted, so no timing on a loaded machine decides the
    /// test), as a TLS handler would.
    final class FakeHandshake: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let atOnce: Bool
        init(atOnce: Bool) { self.atOnce = atOnce }
        func channelActive(context: ChannelHandlerContext) {
            context.fireChannelActive()
            if atOnce { context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil)) }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        }
    }

    func withServer(completingAtOnce atOnce: Bool = false, _ body: (SocketAddress, any EventLoopGroup) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeHandshake(atOnce: atOnce))
                    try channel.pipeline.syncOperations.addHandler(TLSHandshakeDeadlineHandler(timeout: .milliseconds(200)))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        try await body(server.localAddress!, group)
        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func silentClientIsDisconnected() async throws {
        try await withServer { address, group in
            let client = try await ClientBootstrap(group: group).connect(to: address).get()
            // Awaited: the server closes; the test's own bound is the suite's time limit.
            try await client.closeFuture.get()
        }
    }

    @Test func finishedHandshakeKeepsTheConnection() async throws {
        try await withServer(completingAtOnce: true) { finishedAddress, group in
            let client = try await ClientBootstrap(group: group).connect(to: finishedAddress).get()
            try await withServer { silentAddress, silentGroup in
                // Still open well past the deadline: a connection to a server whose
                // handshakes never finish is closed meanwhile, and the first one is still
                // active after that.
                let silent = try await ClientBootstrap(group: silentGroup).connect(to: silentAddress).get()
                try await silent.closeFuture.get()
            }
            #expect(client.isActive)
            try await client.writeAndFlush(ByteBuffer(string: "x"))
            try await client.close()
        }
    }
}
