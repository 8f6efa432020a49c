extension Stack {
    /// Tells whoever sent a datagram that the link could not resolve its next hop (RFC 1122
    /// §2.3.2.2): the link layer names the owner, the stack hands the news to the owner's
    /// transport, which decides what it means. An owner closed since hears nothing, and nor
    /// does the socket that reuses its descriptor.
    mutating func notifyUnreachable(_ owner: PacketOwner, effects: inout Effects) {
        switch owner {
        case .none: break
        case .socket(let id, let flow):
            guard sockets.isOpen(id), let type = sockets[id.descriptor]?.type else { return }
            switch type {
            case .stream: tcpNextHopUnreachable(id, flow: flow, effects: &effects)
            case .dgram: udpNextHopUnreachable(id, flow: flow, effects: &effects)
            }
        case .echo(let id, let seq):
            effects.events.append(.echoFailed(identifier: id, sequence: seq, error: .EHOSTUNREACH))
        }
    }
}
