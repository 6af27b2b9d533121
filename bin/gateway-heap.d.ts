// types for bin/gateway-heap.js, which the launcher runs as plain JavaScript before any TypeScript loads
export function sizeHeapForGateway(): void;
