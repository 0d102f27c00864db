import EspyGossipWire
import EspyLoop

/// The gossip sockets of a node: one UDP socket and one TCP listener on the same address and
/// port (spec §1). Packets go in and out as bytes; TCP streams carry one request and one
/// response each, framed (compressed, encrypted) here.
final class GossipTransport {
    typealias StreamHandler = (StreamMessage, SocketAddress, _ reply: @escaping (StreamMessage?) -> Void) -> Void

    private let loop: EventLoop
    private let udp: UDPSocket
    private var listener: AcceptingListener?
    private let streamOptions: StreamOptions
    /// Set by the owner once it is ready; until then packets and streams are dropped.
    var onPacket: ([UInt8], SocketAddress) -> Void = { _, _ in }
    var onStream: StreamHandler = { _, _, reply in reply(nil) }
    private var openStreams: [ObjectIdentifier: StreamExchange] = [:]

    var localAddress: SocketAddress { udp.localAddress }

    init(loop: EventLoop, address: SocketAddress, keyring: Keyring?) throws {
        self.loop = loop
        self.streamOptions = StreamOptions(compress: true, keyring: keyring)
        let (udp, tcp) = try GossipTransport.bindBoth(loop: loop, address: address)
        self.udp = udp
        listener = tcp
        tcp.onAccept = { [unowned self] connection in self.accept(connection) }
        do {
            try udp.startReceiving { [unowned self] bytes, peer in self.onPacket(Array(bytes), peer) }
        } catch {
            udp.close()
            tcp.close()
            throw error
        }
    }

    /// Binds UDP, then TCP on the port UDP got. With port 0 that port may already be taken
    /// for TCP (by any outgoing connection's ephemeral port), so then it tries another.
    private static func bindBoth(loop: EventLoop, address: SocketAddress) throws -> (UDPSocket, AcceptingListener) {
        var attempts = 0
        while true {
            attempts += 1
            let udp = try UDPSocket(loop: loop, address: address)
            do {
                let tcp = try AcceptingListener(loop: loop, address: udp.localAddress)
                return (udp, tcp)
            } catch let error as LoopError where address.port == 0 && attempts < 20 && error.name == "EADDRINUSE" {
                udp.close()
            } catch {
                udp.close()
                throw error
            }
        }
    }

    /// Hands over datagrams already waiting, before a timeout is judged (see `UDPSocket.deliverWaiting`).
    func deliverWaitingPackets() { udp.deliverWaiting() }

    func sendPacket(_ bytes: [UInt8], to address: SocketAddress) {
        udp.send(bytes, to: address)
    }

    /// Opens a stream to `address`, sends `message`, and completes with the peer's reply.
    func exchange(_ message: StreamMessage, with address: SocketAddress, timeoutMilliseconds: UInt64,
                  completion: @escaping (Result<StreamMessage, GossipTransportError>) -> Void) {
        let request: [UInt8]
        do { request = try StreamFraming.encode(message, options: streamOptions) } catch {
            return completion(.failure(GossipTransportError("cannot encode stream message: \(error)")))
        }
        let exchange = StreamExchange(loop: loop, keyring: streamOptions.keyring, timeoutMilliseconds: timeoutMilliseconds)
        let key = ObjectIdentifier(exchange)
        openStreams[key] = exchange
        exchange.run(request: request, to: address) { [weak self] result in
            exchange.finish()  // the connecting side closes once it has the reply (spec §1)
            self?.openStreams[key] = nil
            completion(result)
        }
    }

    private func accept(_ connection: TCPConnection) {
        let peer = connection.peerAddress
        let exchange = StreamExchange(loop: loop, keyring: streamOptions.keyring, timeoutMilliseconds: 10_000)
        let key = ObjectIdentifier(exchange)
        openStreams[key] = exchange
        // Kept until it is over, reply sent and peer gone, so that `close` ends it: a replied
        // stream left to its own 10 s timer held a stopping node's loop open that long.
        exchange.onFinished = { [weak self] in self?.openStreams[key] = nil }
        exchange.serve(connection) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure:
                exchange.finish()
            case .success(let message):
                self.onStream(message, peer ?? self.localAddress) { [weak self] reply in
                    guard let self else { return }
                    if let reply, let bytes = try? StreamFraming.encode(reply, options: self.streamOptions) {
                        exchange.reply(bytes)
                    } else {
                        exchange.finish()
                    }
                }
            }
        }
    }

    func close() {
        udp.close()
        listener?.close()
        listener = nil
        for exchange in Array(openStreams.values) { exchange.finish() }
        openStreams = [:]
    }
}

/// A TCP listener whose connection handler is set after binding (the transport binds before it
/// can hand out references to itself).
final class AcceptingListener {
    private var listener: TCPListener?
    var onAccept: (TCPConnection) -> Void = { $0.close() }

    init(loop: EventLoop, address: SocketAddress) throws {
        listener = nil
        listener = try TCPListener(loop: loop, address: address) { [unowned self] connection in self.onAccept(connection) }
    }

    func close() {
        listener?.close()
        listener = nil
    }
}

struct GossipTransportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
