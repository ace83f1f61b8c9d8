public enum VMRuntimeInfo { public static let version = "0" }
