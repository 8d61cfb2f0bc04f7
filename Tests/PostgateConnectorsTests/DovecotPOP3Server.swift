import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A private Dovecot pop3d for the tests: its own configuration, users file (one user with a
/// plaintext password), test certificate and Maildir in a temporary directory, listening on
/// free loopback ports (STLS and implicit TLS). The system's Dovecot is never touched.
///
/// `dovecot` (without -F) binds its listeners before it detaches, so once the launcher has
/// exited the ports accept connections: nothing is polled.
final class DovecotPOP3Server {
    static let dovecot = "/usr/sbin/dovecot"
    static let pop3 = "/usr/lib/dovecot/pop3"

    /// Dovecot and its pop3 service (Debian's dovecot-pop3d) are installed.
    static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: dovecot) && FileManager.default.isExecutableFile(atPath: pop3)
    }

    static let user = "alice"
    static let password = "correct horse battery"

    let directory: String
    let maildir: String
    /// The self-signed certificate of the server, also the CA file the client may trust.
    let certificate: String
    let port: Int
    let tlsPort: Int
    private let config: String
    private var stopped = false

    /// Starts Dovecot with `messages` (name in cur/ → content) in the Maildir. With
    /// `oauth2IntrospectionURL`, XOAUTH2 and OAUTHBEARER are offered too and their bearer
    /// tokens checked by RFC 7662 introspection at that URL.
    init(messages: [(name: String, content: [UInt8])], oauth2IntrospectionURL: String? = nil) throws {
        directory = try Self.makeDirectory()
        maildir = directory + "/home/Maildir"
        certificate = directory + "/cert.pem"
        config = directory + "/dovecot.conf"
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true)
        }
        for message in messages {
            try Data(message.content).write(to: URL(fileURLWithPath: maildir + "/cur/" + message.name))
        }
        try Self.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", directory + "/key.pem", "-out", certificate],
                     log: directory + "/openssl.log")

        // Dovecot runs mail processes as the mail user, never root; as root the tests use nobody.
        let root = getuid() == 0
        let account = root ? getpwnam("nobody") : getpwuid(getuid())
        guard let account else { throw FixtureError("no account to run the mail processes as") }
        let uid = account.pointee.pw_uid
        let gid = account.pointee.pw_gid
        let accountName = String(cString: account.pointee.pw_name)
        let groupName = getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? accountName
        try Self.chownTree(directory + "/home", uid: uid, gid: gid)
        var oauth2: String?
        if let oauth2IntrospectionURL { oauth2 = try Self.oauth2PassDB(directory: directory, introspectionURL: oauth2IntrospectionURL) }
        try "\(Self.user):{PLAIN}\(Self.password):\(uid):\(gid)::\(directory)/home\n".write(toFile: directory + "/users", atomically: true, encoding: .utf8)

        port = try Self.freePort()
        tlsPort = try Self.freePort()
        let unprivileged = root ? "" : """
        default_internal_user = \(accountName)
        default_internal_group = \(groupName)
        default_login_user = \(accountName)

        """
        try """
        protocols = pop3
        listen = 127.0.0.1
        base_dir = \(directory)/run
        state_dir = \(directory)/state
        log_path = \(directory)/dovecot.log
        \(unprivileged)ssl = yes
        ssl_cert = <\(certificate)
        ssl_key = <\(directory)/key.pem
        disable_plaintext_auth = yes
        auth_mechanisms = plain\(oauth2 == nil ? "" : " xoauth2 oauthbearer")
        mail_location = maildir:~/Maildir
        first_valid_uid = \(min(uid, 500))
        \(oauth2 ?? "")passdb {
          driver = passwd-file
          args = \(directory)/users
        }
        userdb {
          driver = passwd-file
          args = \(directory)/users
        }
        service pop3-login {
          chroot =
          inet_listener pop3 {
            address = 127.0.0.1
            port = \(port)
          }
          inet_listener pop3s {
            address = 127.0.0.1
            port = \(tlsPort)
            ssl = yes
          }
        }
        service anvil {
          chroot =
        }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        try Self.run([Self.dovecot, "-c", config], log: directory + "/dovecot.out")
    }

    deinit { stop() }

    /// Dovecot's oauth2 passdb (Dovecot 2.3): the token is valid when the introspection
    /// endpoint (RFC 7662, token=... in a POST) answers `"active": true` with the user's
    /// name in `username`. Only the token mechanisms reach it.
    private static func oauth2PassDB(directory: String, introspectionURL: String) throws -> String {
        let arguments = directory + "/dovecot-oauth2.conf.ext"
        try """
        introspection_mode = post
        introspection_url = \(introspectionURL)
        force_introspection = yes
        username_attribute = username
        active_attribute = active
        active_value = true
        timeout_msecs = 10000

        """.write(toFile: arguments, atomically: true, encoding: .utf8)
        return """
        passdb {
          driver = oauth2
          mechanisms = xoauth2 oauthbearer
          args = \(arguments)
        }

        """
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        // `dovecot stop` signals the master and waits until it has exited.
        try? Self.run([Self.dovecot, "-c", config, "stop"], log: directory + "/dovecot-stop.out")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The file names in the Maildir's cur/ and new/.
    func messageFiles() throws -> [String] {
        try ["cur", "new"].flatMap { try FileManager.default.contentsOfDirectory(atPath: maildir + "/" + $0) }.sorted()
    }

    var log: String { (try? String(contentsOfFile: directory + "/dovecot.log", encoding: .utf8)) ?? "" }

    // MARK: Helpers

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func makeDirectory() throws -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/postgate-pop3-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError("mkdtemp failed") }
        let path = String(cString: made)
        // The mail user and Dovecot's login user must reach the files.
        chmod(path, 0o755)
        return path
    }

    private static func chownTree(_ path: String, uid: uid_t, gid: gid_t) throws {
        guard chown(path, uid, gid) == 0 else { throw FixtureError("chown \(path) failed") }
        for entry in try FileManager.default.subpathsOfDirectory(atPath: path) {
            guard chown(path + "/" + entry, uid, gid) == 0 else { throw FixtureError("chown \(entry) failed") }
        }
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw FixtureError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `argv` to completion with posix_spawn, output to `log`: an empty signal mask and
    /// default signal handlers, whatever the test runner's threads block or ignore (Dovecot's
    /// master relies on SIGCHLD and SIGTERM).
    static func run(_ argv: [String], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var arguments = argv.map { strdup($0) } + [nil]
        let variables: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"]
        var environment = variables.map { strdup($0) } + [nil]
        defer { (arguments + environment).forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, argv[0], &actions, &attributes, &arguments, &environment)
        guard status == 0 else { throw FixtureError("cannot start \(argv[0]): \(String(cString: strerror(status)))") }
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 {
            guard errno == EINTR else { throw FixtureError("waitpid \(argv[0]) failed") }
        }
        guard exit == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw FixtureError("\(argv.joined(separator: " ")) failed (status \(exit)): \(output.suffix(500))")
        }
    }
}
