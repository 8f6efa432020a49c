extension Stack {
    /// Ethernet II input: validate, filter by destination, demultiplex by EtherType.
    mutating func linkInput(frame: UnsafeRawBufferPointer, interface: Int, effects: inout Effects) {
        counters.count(.linkFramesIn)
        counters.count(.linkBytesIn, UInt64(frame.count))
        guard interface >= 0 && interface < interfaces.count else { return drop(.linkInterfaceDown) }
        let eth: EthernetHeader
        switch EthernetHeader.parse(frame) {
        case .success(let h): eth = h
        case .failure(let r): return drop(r)
        }
        let linkBroadcast = eth.destination.isBroadcast
        guard linkBroadcast || eth.destination == interfaces[interface].mac else { return drop(.linkNotForUs) }
        let payload = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.size...])
        switch eth.etherType {
        case EtherType.ipv4: ipv4Input(payload, interface: interface, linkBroadcast: linkBroadcast, effects: &effects)
        case EtherType.arp: arpInput(payload, interface: interface, effects: &effects)
        default: drop(.linkUnknownEtherType)
        }
    }
}
