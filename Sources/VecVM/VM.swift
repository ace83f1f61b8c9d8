import VMRuntime
public enum VecVMInfo { public static let version = "0.1.0" }
