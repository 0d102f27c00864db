extension NetworkConditions {
    /// Production's shape: three datacenters about 40 ms apart one way, about 1 ms within one,
    /// and 0.5 % UDP loss. The clock counts whole milliseconds, so within a datacenter that is
    /// exactly 1 ms; between datacenters it is uniform in 38–42 ms.
    public static let threeDatacenterWAN = NetworkConditions(intraDatacenterLatencyMilliseconds: 1...1,
                                                             interDatacenterLatencyMilliseconds: 38...42,
                                                             udpLossRate: 0.005)
}
