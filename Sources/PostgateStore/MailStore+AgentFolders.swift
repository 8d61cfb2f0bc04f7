import PostgateMaildir
import PostgateIndex
import PostgateDirectory
/// The agent folders the outbound side writes into: notifications go to the
/// sending agent's INBOX, delivered replies to its Sent folder.
extension MailStore {
    /// The personal folder `name` (`INBOX`, `Sent`…) of agent `agent`, or nil when either
    /// does not exist.
    public func agentFolder(_ agent: String, named name: String) throws(StoreError) -> VisibleMailbox? {
        guard let credentials = try directory.credentials(of: agent.lowercased()) else { return nil }
        let identity = AgentIdentity(id: credentials.id, name: agent.lowercased())
        return try visibleMailboxes(agent: identity).first { $0.kind == .personal && $0.name.uppercased() == name.uppercased() }
    }
}
