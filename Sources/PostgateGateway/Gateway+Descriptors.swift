#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File descriptors: the MX listener keeps what it needs whatever the IMAP clients do.
extension Gateway {
    /// Descriptors kept for the process itself beside the sessions: the index and its WAL,
    /// listeners, event loops, DNS and outbound connections, Maildir files being written.
    static let baseDescriptorReserve = 256

    /// Raises the soft limit on open files to the hard limit, as Postfix and Dovecot do:
    /// every session holds a socket, and a delivery a file besides.
    func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("cannot raise the open files limit", metadata: ["limit": "\(before)"])
        }
    }

    /// The open files limit now (the soft limit of RLIMIT_NOFILE).
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int.max }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
    }

    /// The IMAP listeners' total connection limit: `imap.max_connections`, but never more
    /// than the descriptors left once the SMTP listeners have their reserve, two per
    /// session (its socket, and the file of the message it delivers) at their
    /// `max_connections`, and the process its base reserve.
    static func imapConnectionLimit(configuration: GatewayConfiguration, descriptorLimit: Int) -> Int {
        var smtpSessions = configuration.smtp.limits.maxConnections
        if configuration.offersSubmission { smtpSessions += configuration.submission.maxConnections }
        let reserve = 2 * smtpSessions + baseDescriptorReserve
        let left = descriptorLimit == Int.max ? Int.max : descriptorLimit - reserve
        return max(1, min(configuration.imap.maxConnections, left))
    }

    /// `imapConnectionLimit` under this process's descriptor limit, with a warning when the
    /// limit cuts `imap.max_connections` down.
    func imapConnectionLimit() -> Int {
        let descriptors = Self.descriptorLimit()
        let limit = Self.imapConnectionLimit(configuration: configuration, descriptorLimit: descriptors)
        if limit < configuration.imap.maxConnections {
            logger.warning("the open files limit leaves IMAP fewer connections than imap.max_connections",
                           metadata: ["open_files_limit": "\(descriptors)", "imap_max_connections": "\(limit)"])
        }
        return limit
    }
}
