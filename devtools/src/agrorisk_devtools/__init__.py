"""Dev-only AgroRisk tools: stand-ins and throwaway models for tests, benchmarks and local runs.

No product package imports this; it ships in no image. `agrorisk_devtools.gemini_standin` plays
Gemini's REST API, `crawl_site` the search engines and image hosts, `smoke_model` trains a tiny real
YOLO11, `backend_stack` starts Ray Serve + the backend on loopback; `agrorisk-dev` runs them.
"""
