import ArgumentParser
import Foundation
import PostgateGateway

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `postgate reload`: checks the configuration, then asks the running `serve` to read it
/// again (SIGHUP).
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Check the configuration and the TLS certificate, then have the running `postgate serve` read them again.",
        discussion: """
        Finds the server by DATA/postgate.pid (DATA as for serve: --data, else the config's \
        data_directory, else $POSTGATE_DATA, else ./postgate-data). The configuration file \
        checked is --config, else the one the server was started with; it must be the \
        server's own file, which the server reads again. A configuration or certificate that \
        does not check out is refused here with one line and exit status 1, and the server is \
        not signalled. Otherwise the server gets SIGHUP: it applies the new certificate and key \
        to connections from then on (open sessions keep theirs) and the log level, and logs \
        settings that need a restart. Its log has the outcome. \
        With --json: {pid, dataDirectory, config, signalled}.
        """
    )

    @OptionGroup var options: StoreOptions

    struct Outcome: Encodable {
        var pid: Int32
        var dataDirectory: String
        var config: String?
        var signalled: Bool
    }

    func run() throws {
        let given = options.configPath.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var configuration = GatewayConfiguration.embeddedDefault
        if let given { configuration = Self.load(given) }
        let dataDirectory = ServeCommand.dataDirectory(data: options.data, config: given, configuration)
        let server: ServerProcessFile
        do {
            guard let file = try ServerProcessFile.read(dataDirectory: dataDirectory) else {
                fail("no postgate serve runs on \(dataDirectory) (there is no \(ServerProcessFile.path(dataDirectory: dataDirectory)))")
            }
            server = file
        } catch {
            fail("\(error)")
        }
        guard server.isRunning else {
            fail("no postgate serve runs on \(dataDirectory): \(ServerProcessFile.path(dataDirectory: dataDirectory)) names process \(server.pid), which is not postgate serve")
        }
        if let given, Self.resolved(given) != server.configFile.map(Self.resolved) {
            fail("postgate serve on \(dataDirectory) reads \(server.configFile ?? "no config file (the embedded default)"), not \(given); it reads its own file again")
        }
        if given == nil, let file = server.configFile { configuration = Self.load(file) }
        if !configuration.tls.certificateFile.isEmpty {
            do {
                _ = try TLSMaterial.load(configuration: configuration, dataDirectory: dataDirectory)
            } catch {
                fail("\(error); postgate serve was not signalled")
            }
        }
        guard kill(server.pid, SIGHUP) == 0 else {
            fail("cannot signal postgate serve (pid \(server.pid)): \(String(cString: strerror(errno)))")
        }
        let outcome = Outcome(pid: server.pid, dataDirectory: dataDirectory, config: server.configFile, signalled: true)
        try options.print(outcome) {
            "postgate serve (pid \(server.pid)) on \(dataDirectory) is reloading \(server.configFile ?? "the embedded default"); its log has the outcome"
        }
    }

    private static func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    /// The configuration in `file`, or exits naming the problem without signalling.
    private static func load(_ file: String) -> GatewayConfiguration {
        do {
            return try GatewayConfiguration.load(file: file)
        } catch {
            fail("\(error); postgate serve was not signalled")
        }
    }
}
