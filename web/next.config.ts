import type { NextConfig } from "next";

// A static export, as it is hosted on S3 behind CloudFront; the API base URL comes from
// NEXT_PUBLIC_API_BASE_URL at build time (empty: the same origin, as the local gateway
// serves both).
const config: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
};

export default config;
