/// A membership with the address resolved to its row (aliases name their address).
package enum MembershipTarget: Sendable {
    case address(id: Int64)
    case queue(name: String)
}
