"""The quickstart as a web backend would run it: Python's standard library
only (urllib, json, uuid). Uploads the source and the template, creates a
job, polls it to completed, fetches the result and downloads the output.
Usage: httpd_client.py API_BASE SOURCE TEMPLATE. Exits non-zero on any
departure from the documented contract."""
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def call(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def envelope(status, raw, want_status=200):
    doc = json.loads(raw)
    if status != want_status or doc.get("success") is not (status == 200):
        sys.exit(f"HTTP {status}, wanted {want_status}: {doc}")
    return doc["data"] if status == 200 else doc["error"]


def upload(api, path):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\";"
            f" filename=\"{name}\"\r\nContent-Type: video/mp4\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, raw, _ = call("POST", f"{api}/videos/upload", body,
                          {"Content-Type":
                           f"multipart/form-data; boundary={boundary}"})
    video = envelope(status, raw)
    if video["file_size_bytes"] != len(data) or video["filename"] != name:
        sys.exit(f"upload record: {video}")
    return video["video_id"]


def main():
    api, source, template = sys.argv[1:4]
    src, tpl = upload(api, source), upload(api, template)
    body = json.dumps({"video_id": src, "template_video_id": tpl,
                       "config": {"quality": "medium"}}).encode()
    status, raw, _ = call("POST", f"{api}/jobs", body,
                          {"Content-Type": "application/json"})
    job = envelope(status, raw)
    if job["status"] != "queued":
        sys.exit(f"created job: {job}")
    deadline, last = time.time() + 120, 0
    while True:
        job = envelope(*call("GET", f"{api}/jobs/{job['job_id']}")[:2])
        if job["progress_percent"] < last:
            sys.exit(f"progress went back: {last} -> {job}")
        last = job["progress_percent"]
        if job["status"] in ("completed", "failed", "cancelled"):
            break
        if time.time() > deadline:
            sys.exit(f"job still {job['status']} after 120 s")
        time.sleep(0.2)
    if job["status"] != "completed" or job["progress_percent"] != 100:
        sys.exit(f"job ended: {job}")
    result = envelope(*call("GET", f"{api}/jobs/{job['job_id']}/result")[:2])
    if not result["style_json"] or not result["output_video_url"]:
        sys.exit(f"result: {result}")
    status, video, headers = call(
        "GET", f"{api}/jobs/{job['job_id']}/artifacts/output.mp4")
    if status != 200 or headers["Content-Type"] != "video/mp4" or \
            video[4:8] != b"ftyp":
        sys.exit(f"download: HTTP {status}, {headers['Content-Type']}")
    status, raw, _ = call("GET", f"{api}/jobs/job_000000000000")
    if envelope(status, raw, 404)["code"] != "JOB_NOT_FOUND":
        sys.exit("unknown job")
    print(f"python client: {job['job_id']} completed, {len(video)} bytes")


main()
