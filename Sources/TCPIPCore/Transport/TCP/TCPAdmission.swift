extension Stack {
    /// Whether one more connection, with `options`' buffers, fits under the stack's caps on
    /// connections and on their buffer memory; the reason it does not, otherwise. Linux has
    /// no single such cap (its limits are tcp_mem, tcp_max_orphans and the descriptor limit);
    /// what it does when it cannot allocate a connection is kept: a SYN is dropped (the
    /// client retries it, RFC 9293 §3.8.1) and `connect` fails with ENOBUFS.
    func tcpAdmission(_ options: SocketOptions) -> DropReason? {
        let t = configuration.tcp
        if tcp.live >= t.maxConnections { return .tcpConnectionLimit }
        if tcp.committedBytes + options.sendBuffer + options.receiveBuffer > t.maxConnectionMemory {
            return .tcpMemoryLimit
        }
        return nil
    }
}
