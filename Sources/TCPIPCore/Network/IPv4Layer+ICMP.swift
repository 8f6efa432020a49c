import DequeModule

/// What an ICMP error says about the datagram that caused it.
struct OffendingDatagram {
    var source: IPv4Address
    var destination: IPv4Address
    var proto: UInt8
    var fragmentOffset: Int
    var headerLength: Int

    init(source: IPv4Address, destination: IPv4Address, proto: UInt8, fragmentOffset: Int, headerLength: Int) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.fragmentOffset = fragmentOffset
        self.headerLength = headerLength
    }

    init(_ ip: IPv4Header) {
        self.init(
            source: ip.source,
            destination: ip.destination,
            proto: ip.protocol,
            fragmentOffset: ip.fragmentOffset,
            headerLength: ip.headerLength
        )
    }
}

/// An ICMP error about a datagram a transport sent (RFC 1122 §3.2.2.1), for the stack to
/// hand to that transport: the quoted datagram's addresses and ports as the sender saw them.
struct TransportError {
    var proto: UInt8
    var localAddress: IPv4Address
    var localPort: UInt16
    var remoteAddress: IPv4Address
    var remotePort: UInt16
    /// The quoted TCP sequence number (meaningless for UDP).
    var sequence: SequenceNumber
    var type: UInt8
    var code: UInt8
    var nextHopMTU: UInt16
    /// The errno Linux reports for it.
    var error: Errno
}

/// Pings in flight, so replies can be matched and checked; bounded (oldest forgotten).
struct Pings {
    struct Key: Hashable {
        var identifier: UInt16
        var sequence: UInt16
    }
    var sent: [Key: (length: Int, checksum: UInt16)] = [:]
    var order = Deque<Key>()
    let limit = 4096

    mutating func record(_ key: Key, length: Int, checksum: UInt16) {
        if sent.updateValue((length, checksum), forKey: key) == nil { order.append(key) }
        while order.count > limit { sent[order.removeFirst()] = nil }
    }
}

extension IPv4Layer {
    /// ICMP input (RFC 792, RFC 1122 §3.2.2).
    mutating func icmpInput(
        _ ip: IPv4Header,
        packet: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer,
        broadcast: Bool,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) -> TransportError? {
        ctx.count(.icmpIn)
        let icmp: ICMPv4Header
        switch ICMPv4Header.parse(payload) {
        case .success(let h): icmp = h
        case .failure(let r):
            ctx.drop(r)
            return nil
        }
        let body = UnsafeRawBufferPointer(rebasing: payload[ICMPv4Header.size...])
        switch icmp.type {
        case ICMPv4Type.echoRequest:
            ctx.count(.icmpEchoRequestsIn)
            // RFC 1122 §3.2.2.6: a request to a broadcast address MAY be silently discarded.
            if broadcast && !answerBroadcastPings {
                ctx.drop(.icmpBadCode)
                return nil
            }
            sendEchoReply(to: ip, request: icmp, data: body, ctx: &ctx, link: &link, effects: &effects)
        case ICMPv4Type.echoReply:
            ctx.count(.icmpEchoRepliesIn)
            let key = Pings.Key(identifier: icmp.identifier, sequence: icmp.sequenceNumber)
            guard let sent = pings.sent[key] else {
                ctx.drop(.icmpEchoReplyUnmatched)
                return nil
            }
            pings.sent[key] = nil
            let matches = sent.length == body.count && sent.checksum == InternetChecksum.checksum(body)
            effects.events.append(
                .echoReply(
                    EchoReply(
                        source: ip.source,
                        identifier: icmp.identifier,
                        sequence: icmp.sequenceNumber,
                        ttl: ip.ttl,
                        payloadLength: body.count,
                        payloadMatches: matches
                    )
                )
            )
        case ICMPv4Type.sourceQuench:
            // RFC 6633 §3 (and RFC 9293 MUST-55): Source Quench is deprecated; a host MUST
            // silently discard it.
            ctx.drop(.icmpUnknownType)
        case ICMPv4Type.destinationUnreachable, ICMPv4Type.timeExceeded, ICMPv4Type.parameterProblem:
            if icmp.type == ICMPv4Type.destinationUnreachable { ctx.count(.icmpDestUnreachableIn) }
            if icmp.type == ICMPv4Type.timeExceeded { ctx.count(.icmpTimeExceededIn) }
            return icmpErrorInput(icmp, quote: body, ctx: &ctx, effects: &effects)
        default:
            ctx.drop(.icmpUnknownType)
        }
        return nil
    }

    /// Answers an echo request with the same identifier, sequence and data (RFC 792).
    mutating func sendEchoReply(
        to ip: IPv4Header,
        request: ICMPv4Header,
        data: UnsafeRawBufferPointer,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) {
        guard var route = route(to: ip.source, interfaces: ctx.interfaces) else { return ctx.drop(.ipNoRoute) }
        // RFC 1122 §3.2.2.6: the reply's source is the request's specific destination.
        if Self.isLocalOrBroadcast(ip.destination, interfaces: ctx.interfaces) == (true, false) {
            route.source = ip.destination
        }
        effects.frames.begin(headroom: Self.headroom)
        effects.frames.appendZeros(ICMPv4Header.size)
        effects.frames.append(data)
        let total = effects.frames.length
        effects.frames.withFrame { buf in
            ICMPv4Header(
                echoType: ICMPv4Type.echoReply,
                identifier: request.identifier,
                sequenceNumber: request.sequenceNumber
            ).write(to: buf, at: 0, totalLength: total)
        }
        ctx.count(.icmpOut)
        ctx.count(.icmpEchoRepliesOut)
        sendICMP(route: route, to: ip.source, ctx: &ctx, link: &link, effects: &effects)
    }

    /// Sends an ICMP echo request (ping) to `destination`. Its reply arrives as
    /// `SocketEvent.echoReply`; a failure to resolve the next hop as `SocketEvent.echoFailed`.
    mutating func sendEchoRequest(
        to destination: IPv4Address,
        identifier: UInt16,
        sequence: UInt16,
        payload: UnsafeRawBufferPointer,
        ttl: UInt8?,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) -> Result<Void, Errno> {
        guard payload.count <= 65535 - 20 - ICMPv4Header.size else { return .failure(.EMSGSIZE) }
        guard let route = route(to: destination, interfaces: ctx.interfaces) else {
            ctx.drop(.ipNoRoute)
            return .failure(.ENETUNREACH)
        }
        effects.frames.begin(headroom: Self.headroom)
        effects.frames.appendZeros(ICMPv4Header.size)
        effects.frames.append(payload)
        let total = effects.frames.length
        effects.frames.withFrame { buf in
            ICMPv4Header(echoType: ICMPv4Type.echoRequest, identifier: identifier, sequenceNumber: sequence).write(
                to: buf,
                at: 0,
                totalLength: total
            )
        }
        pings.record(
            .init(identifier: identifier, sequence: sequence),
            length: payload.count,
            checksum: InternetChecksum.checksum(payload)
        )
        ctx.count(.icmpOut)
        ctx.count(.icmpEchoRequestsOut)
        return send(
            route: route,
            protocol: IPProtocol.icmp,
            destination: destination,
            dontFragment: false,
            ttl: ttl,
            owner: .echo(identifier: identifier, sequence: sequence),
            ctx: &ctx,
            link: &link,
            effects: &effects
        )
    }

    /// Sends an ICMP error about a received datagram, unless RFC 1122 §3.2.2 forbids it: never
    /// about an ICMP error, a datagram sent to a broadcast or multicast address or as a link
    /// broadcast, a fragment other than the first, or a source that is not one host; and never
    /// faster than the rate limit. The quote is the IP header plus the first 8 payload bytes
    /// (RFC 792).
    mutating func sendICMPError(
        type: UInt8,
        code: UInt8,
        rest: UInt32 = 0,
        offending o: OffendingDatagram,
        quote: UnsafeRawBufferPointer,
        broadcast: Bool,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) {
        if broadcast || o.destination.isMulticast || o.fragmentOffset != 0 { return }
        // The datagram's own destination decides too: the reassembly timer has no `broadcast`
        // flag to pass for the fragments of a broadcast (RFC 1122 §3.2.2).
        if Self.isLocalOrBroadcast(o.destination, interfaces: ctx.interfaces).broadcast { return }
        if o.source.isUnspecified || o.source.isMulticast || o.source == .broadcast || o.source.isLoopback { return }
        if Self.isLocalOrBroadcast(o.source, interfaces: ctx.interfaces).broadcast { return }
        if o.proto == IPProtocol.icmp {
            // Never an error about an error (RFC 1122 §3.2.2); unknown types count as errors too.
            guard quote.count > o.headerLength else { return }
            let t = quote[o.headerLength]
            if t != ICMPv4Type.echoRequest && t != ICMPv4Type.echoReply { return }
        }
        guard icmpLimiter.take(now: ctx.now) else { return ctx.drop(.icmpRateLimited) }
        guard var route = route(to: o.source, interfaces: ctx.interfaces) else { return ctx.drop(.ipNoRoute) }
        if Self.isLocalOrBroadcast(o.destination, interfaces: ctx.interfaces) == (true, false) {
            route.source = o.destination
        }
        let quoteLength = min(quote.count, o.headerLength + 8)
        effects.frames.begin(headroom: Self.headroom)
        effects.frames.appendZeros(ICMPv4Header.size)
        effects.frames.append(UnsafeRawBufferPointer(rebasing: quote[0..<quoteLength]))
        let total = effects.frames.length
        effects.frames.withFrame { buf in
            ICMPv4Header(type: type, code: code, restOfHeader: rest).write(to: buf, at: 0, totalLength: total)
        }
        ctx.count(.icmpOut)
        if type == ICMPv4Type.destinationUnreachable { ctx.count(.icmpDestUnreachableOut) }
        if type == ICMPv4Type.timeExceeded { ctx.count(.icmpTimeExceededOut) }
        ctx.trace(.icmpErrorSent(type: type, code: code, to: o.source))
        sendICMP(route: route, to: o.source, ctx: &ctx, link: &link, effects: &effects)
    }

    /// A received ICMP error: find who sent the datagram it quotes and tell them
    /// (RFC 1122 §3.2.2.1, §4.1.3.3 for UDP).
    mutating func icmpErrorInput(
        _ icmp: ICMPv4Header,
        quote: UnsafeRawBufferPointer,
        ctx: inout LayerContext,
        effects: inout Effects
    ) -> TransportError? {
        guard quote.count >= 20 else {
            ctx.drop(.icmpErrorQuoteTooShort)
            return nil
        }
        let ihl = Int(quote[0] & 0x0F) * 4
        guard quote[0] >> 4 == 4, ihl >= 20, quote.count >= ihl + 8 else {
            ctx.drop(.icmpErrorQuoteTooShort)
            return nil
        }
        let proto = quote[9]
        let source = IPv4Address(reading: quote, at: 12)
        let destination = IPv4Address(reading: quote, at: 16)
        let transport = UnsafeRawBufferPointer(rebasing: quote[ihl..<(ihl + 8)])
        let error = Self.errno(forICMPType: icmp.type, code: icmp.code)
        switch proto {
        case IPProtocol.udp, IPProtocol.tcp:
            return TransportError(
                proto: proto,
                localAddress: source,
                localPort: transport.be16(0),
                remoteAddress: destination,
                remotePort: transport.be16(2),
                sequence: SequenceNumber(transport.be32(4)),
                type: icmp.type,
                code: icmp.code,
                nextHopMTU: icmp.nextHopMTU,
                error: error
            )
        case IPProtocol.icmp:
            // An error about a ping we sent.
            let key = Pings.Key(identifier: transport.be16(4), sequence: transport.be16(6))
            guard transport[0] == ICMPv4Type.echoRequest, pings.sent[key] != nil else {
                ctx.drop(.icmpErrorUnmatched)
                return nil
            }
            pings.sent[key] = nil
            effects.events.append(.echoFailed(identifier: key.identifier, sequence: key.sequence, error: error))
        default:
            ctx.drop(.icmpErrorUnmatched)
        }
        return nil
    }

    /// The errno Linux reports for an ICMP error (Linux `icmp_err_convert`).
    static func errno(forICMPType type: UInt8, code: UInt8) -> Errno {
        switch (type, code) {
        case (ICMPv4Type.destinationUnreachable, 0): return .ENETUNREACH
        case (ICMPv4Type.destinationUnreachable, 1): return .EHOSTUNREACH
        case (ICMPv4Type.destinationUnreachable, 2): return .ENOPROTOOPT.with("protocol unreachable")
        case (ICMPv4Type.destinationUnreachable, 3): return .ECONNREFUSED
        case (ICMPv4Type.destinationUnreachable, 4): return .EMSGSIZE
        case (ICMPv4Type.destinationUnreachable, _): return .EHOSTUNREACH
        case (ICMPv4Type.timeExceeded, _): return .EHOSTUNREACH.with("time to live exceeded in transit")
        case (ICMPv4Type.parameterProblem, _): return .EPROTO
        default: return .EHOSTUNREACH
        }
    }

    /// Sends the ICMP message being built, one nobody waits for (a reply or an error).
    private mutating func sendICMP(
        route: RouteChoice,
        to destination: IPv4Address,
        ctx: inout LayerContext,
        link: inout LinkLayer,
        effects: inout Effects
    ) {
        _ = send(
            route: route,
            protocol: IPProtocol.icmp,
            destination: destination,
            dontFragment: false,
            ttl: nil,
            owner: .none,
            ctx: &ctx,
            link: &link,
            effects: &effects
        )
    }
}
