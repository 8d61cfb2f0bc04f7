// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Postgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "postgate", targets: ["postgate"]),
        .library(name: "PostgateGateway", targets: ["PostgateGateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", exact: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", exact: "2.1.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        /// libidn2 (apt: libidn2-dev): IDNA2008 conversion between U-labels and A-labels.
        .systemLibrary(
            name: "CIDN2",
            pkgConfig: "libidn2",
            providers: [.apt(["libidn2-dev"])]
        ),
        /// `sync_file_range(2)`, which Swift's Glibc module does not declare.
        .target(name: "CFileSync"),
        /// Where blocking work runs: a NIOThreadPool thread, never an event loop or a Swift
        /// concurrency thread (a guard for debug builds, and async code's hand-over to the pool).
        .target(
            name: "PostgateBlocking",
            dependencies: [.product(name: "NIOPosix", package: "swift-nio")]
        ),
        /// The message model: domains, addresses, RFC 5322 header fields. No I/O.
        .target(
            name: "PostgateMessage",
            dependencies: ["CIDN2"]
        ),
        /// RFC 4180 CSV: a streaming, bounded parser (bytes in, records with line numbers
        /// out), a file reader and a writer. Used by blocklist imports and channel export/import.
        .target(name: "PostgateCSV"),
        /// Inbound policy: blocklists and their CSV import, auto-reply detection, allowed
        /// domains, recipient-only sync. Pure decisions over header fields; no I/O.
        .target(
            name: "PostgatePolicy",
            dependencies: ["PostgateMessage", "PostgateCSV"]
        ),
        /// What every listener needs against hostile clients, whatever its protocol: the TLS
        /// handshake deadline, connection limits in total and per IP, the login throttle.
        .target(
            name: "PostgateListener",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        /// Auto-replies (RFC 3834): whether a message gets one (first of a session, never to
        /// automatic mail, null senders or the gateway's own addresses, a cap per sender and
        /// hour), which one (in or out of working hours), and its Mustache templates. No I/O.
        .target(
            name: "PostgateAutoReply",
            dependencies: [
                "PostgateMessage", "PostgatePolicy",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        /// Operational metrics: what each concern counts and times (SMTP, IMAP, outbound
        /// delivery, DKIM, webhooks, the store), named once with their help texts, recorded
        /// through swift-metrics with an explicit factory, exposed in the Prometheus text format.
        .target(
            name: "PostgateMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        /// Log lines: a swift-log handler writing one line per event in logfmt or JSON.
        .target(
            name: "PostgateLogging",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        /// SMTP server protocol (RFC 5321): framing, state machine, channel handler.
        .target(
            name: "PostgateSMTP",
            dependencies: [
                "PostgateMessage", "PostgateListener", "PostgateMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Conversation sessions and threads: which session a message joins, and
        /// the signed Message-IDs Postgate puts on replies. Pure logic, no I/O.
        .target(
            name: "PostgateSessions",
            dependencies: [
                "PostgateMessage",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// The data directory's files: its layout, Maildir folders and their file names,
        /// spool files, and how files and directory entries become durable (fsync, syncfs).
        /// The store's error type. No SQLite.
        .target(
            name: "PostgateMaildir",
            dependencies: ["PostgateMessage", "PostgatePolicy"]
        ),
        /// The SQLite index (WAL): schema and migrations of the one index file, shared
        /// commits, the delivery journal, the message index with its IMAP read models
        /// (mod-sequences, summaries, fetch cache), sessions and the incoming message.
        .target(
            name: "PostgateIndex",
            dependencies: [
                "PostgateMaildir", "PostgateMessage", "PostgatePolicy", "PostgateSessions", "CFileSync",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The channel directory: domains, addresses with drafts, queues, filters,
        /// blocklists, policy and quarantine rows, agents and passwords, DKIM key rows,
        /// export and import.
        .target(
            name: "PostgateDirectory",
            dependencies: [
                "PostgateMaildir", "PostgateIndex", "PostgateMessage", "PostgatePolicy", "PostgateSessions", "PostgateCSV", "PostgateAutoReply",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        /// The store: one front (`MailStore`) over files, index and directory for the
        /// callers that need several of them (delivery, recovery, check, IMAP).
        .target(
            name: "PostgateStore",
            dependencies: [
                "PostgateMaildir", "PostgateIndex", "PostgateDirectory",
                "PostgateMessage", "PostgatePolicy", "PostgateSessions",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// IMAP server protocol (RFC 9051, RFC 3501): framing, parser, responses, session
        /// state machine, command execution over the store, channel handler.
        .target(
            name: "PostgateIMAP",
            dependencies: [
                "PostgateMessage", "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateListener", "PostgateMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// DNS stub resolver (RFC 1035): UDP with TCP fallback, configurable servers, clear
        /// outcomes (records, NXDOMAIN, no data, server failure, timeout). Used for DKIM key
        /// records and outbound MX delivery.
        .target(name: "PostgateDNS"),
        /// DKIM (RFC 6376, RFC 8463): canonicalization, streaming body hash, signer,
        /// verifier, key generation/import, key records, domain verification statuses.
        .target(
            name: "PostgateDKIM",
            dependencies: [
                "PostgateDNS",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        /// Outbound delivery: the durable outbound queue, the SMTP client (RFC 5321 client
        /// side, STARTTLS, AUTH), next hops (smarthost, MX through a resolver protocol) and
        /// the delivery worker.
        .target(
            name: "PostgateOutbound",
            dependencies: [
                "PostgateMessage", "PostgateMaildir", "PostgateIndex", "PostgateStore", "PostgateDNS", "PostgateDKIM", "PostgateSessions",
                "PostgateBlocking", "PostgateOAuth", "PostgateAutoReply", "PostgateMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        /// OAuth 2.0 for mailbox connectors and SMTP submission (RFC 6749): the settings of one
        /// authorization, a token source that refreshes and caches access tokens over HTTP, and
        /// the SASL mechanisms that carry a token (XOAUTH2, OAUTHBEARER RFC 7628).
        .target(
            name: "PostgateOAuth",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// For tests: an OAuth 2.0 authorization server on loopback (token endpoint for the
        /// refresh-token grant, RFC 7662 introspection) whose answers the tests control.
        .target(
            name: "PostgateOAuthTesting",
            dependencies: [
                "PostgateOAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        /// Mailbox connectors: clients that fetch mail from a customer's own mailbox, each a
        /// framer, a state machine, a channel handler and an async session, sharing the TLS,
        /// connect-error and SASL pieces. The POP3 client (RFC 1939; CAPA, STLS, SASL PLAIN,
        /// XOAUTH2 and OAUTHBEARER). The IMAP client (RFC 9051, RFC 3501; STARTTLS, LOGIN,
        /// AUTHENTICATE PLAIN, XOAUTH2 and OAUTHBEARER with SASL-IR, LIST with SPECIAL-USE,
        /// SELECT/EXAMINE, UID SEARCH, UID FETCH with message bodies streamed, UID STORE, MOVE or
        /// COPY with UIDPLUS, IDLE).
        .target(
            name: "PostgateConnectors",
            dependencies: [
                "PostgateOAuth",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The HTTP API: the OpenAPI document (`openapi.yaml`, the contract the server code is
        /// generated from at build time), its handlers over the store, API tokens and their
        /// scopes and rate limits, problem details (RFC 9457), health and readiness.
        .target(
            name: "PostgateAPI",
            dependencies: [
                "PostgateMessage", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateOutbound", "PostgateBlocking", "PostgatePolicy", "PostgateCSV",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("openapi.yaml")],
            // The generated code imports with explicit access levels; the rest of the target's
            // imports are internal, which they are in spirit anyway.
            swiftSettings: [.enableUpcomingFeature("InternalImportsByDefault")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        /// Wiring: configuration, listeners, TLS material, delivery into the store, lifecycle.
        .target(
            name: "PostgateGateway",
            dependencies: [
                "PostgateMessage", "PostgateSMTP", "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateDNS", "PostgateDKIM", "PostgatePolicy", "PostgateIMAP", "PostgateOutbound",
                "PostgateSessions", "PostgateBlocking", "PostgateConnectors", "PostgateOAuth", "PostgateListener", "PostgateAPI", "PostgateAutoReply",
                "PostgateMetrics", "PostgateLogging",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        /// The `postgate` command: `serve` and the admin commands.
        .executableTarget(
            name: "postgate",
            dependencies: [
                "PostgateGateway", "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateMessage", "PostgateDNS", "PostgateDKIM", "PostgatePolicy",
                "PostgateSessions", "PostgateCSV", "PostgateOutbound", "PostgateConnectors", "PostgateAutoReply", "PostgateMetrics",
                "PostgateLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PostgateBlockingTests",
            dependencies: [
                "PostgateBlocking",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PostgateListenerTests",
            dependencies: [
                "PostgateListener",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "PostgateMessageTests", dependencies: ["PostgateMessage"]),
        .testTarget(
            name: "PostgateAPITests",
            dependencies: ["PostgateAPI", .product(name: "HTTPTypes", package: "swift-http-types")]
        ),
        .testTarget(name: "PostgatePolicyTests", dependencies: ["PostgatePolicy", "PostgateMessage", "PostgateCSV"]),
        .testTarget(name: "PostgateCSVTests", dependencies: ["PostgateCSV"]),
        .testTarget(
            name: "PostgateLoggingTests",
            dependencies: ["PostgateLogging", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "PostgateAutoReplyTests", dependencies: ["PostgateAutoReply", "PostgatePolicy", "PostgateMessage"]),
        .testTarget(
            name: "PostgateSMTPTests",
            dependencies: [
                "PostgateSMTP", "PostgateGateway", "PostgateListener", "PostgateMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "PostgateStoreTests",
            dependencies: [
                "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgatePolicy", "PostgateSessions",
            ]
        ),
        .testTarget(name: "PostgateSessionsTests", dependencies: ["PostgateSessions", "PostgateMessage"]),
        .testTarget(name: "PostgateDNSTests", dependencies: ["PostgateDNS"]),
        .testTarget(name: "PostgateDKIMTests", dependencies: ["PostgateDKIM", "PostgateDNS"]),
        .testTarget(
            name: "PostgateOutboundTests",
            dependencies: [
                "PostgateOutbound", "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateMessage", "PostgateDNS", "PostgateDKIM", "PostgateSessions",
                "PostgateOAuth", "PostgateOAuthTesting", "PostgateGateway", "PostgateAutoReply", "PostgateMetrics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "PostgateOAuthTests",
            dependencies: [
                "PostgateOAuth", "PostgateOAuthTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PostgateConnectorsTests",
            dependencies: [
                "PostgateConnectors", "PostgateOAuth", "PostgateOAuthTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PostgateIMAPTests",
            dependencies: [
                "PostgateIMAP", "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateListener",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PostgateGatewayTests",
            dependencies: [
                "PostgateGateway", "PostgatePolicy", "PostgateMaildir", "PostgateIndex", "PostgateDirectory", "PostgateStore", "PostgateMessage", "PostgateOutbound", "PostgateListener",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
