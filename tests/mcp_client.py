"""A real MCP client (the official Python SDK) for tests/mcp.rs.

Starts `oauthscope --home HOME mcp` over stdio, lists the tools, calls each
of them (good and bad arguments) and writes every answer, as the SDK
parsed it, to a JSON file the Rust test checks. It asserts nothing itself.

usage: mcp_client.py OAUTHSCOPE_BIN HOME HAR_FILE NOT_A_HAR_FILE OUT.json
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters


def dump(result):
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def main():
    binary, home, har, not_har, out_path = sys.argv[1:6]
    calls = []
    params = StdioServerParameters(command=binary, args=["--home", home, "mcp"])
    async with Client(params) as client:

        async def call(name, args):
            try:
                result = await client.call_tool(name, args)
                entry = {"tool": name, "args": args, "result": dump(result)}
            except Exception as e:  # a protocol-level error (e.g. invalid params)
                entry = {"tool": name, "args": args, "protocol_error": repr(e)}
            calls.append(entry)
            return entry

        tools = await client.list_tools()
        listed = [dump(t) for t in tools.tools]

        all_logins = await call("list_logins", {})
        await call("list_logins", {"limit": 1})
        first_page = calls[-1]["result"].get("structuredContent", {})
        if first_page.get("next_cursor"):
            await call("list_logins", {"limit": 1, "cursor": first_page["next_cursor"]})
        failed = await call("list_logins", {"outcome": "failed"})
        await call("list_logins", {"code": "diagnosis.redirect_uri_mismatch"})
        await call("list_logins", {"host": "no-such-host.example"})

        logins = all_logins["result"].get("structuredContent", {}).get("logins", [])
        for login in logins:
            shown = await call("show_login", {"login": login["login"]})
            for x in shown["result"].get("structuredContent", {}).get("exchanges", []):
                await call("show_exchange", {"id": x["id"]})
            await call("export_report", {"login": login["login"]})
        failed_logins = failed["result"].get("structuredContent", {}).get("logins", [])
        if failed_logins:
            await call(
                "show_login",
                {
                    "login": failed_logins[0]["login"],
                    "registered_redirect_uris": ["http://127.0.0.1:8000/callback"],
                },
            )

        for one in failed_logins:
            others = [l for l in logins if l["login"] != one["login"]]
            if others:
                await call("diff_logins", {"a": one["login"], "b": others[0]["login"]})

        await call("explain_code", {"code": "invalid_grant"})
        await call("explain_code", {"code": "diagnosis.redirect_uri_mismatch"})
        har_list = await call("analyze_har", {"path": har})
        har_logins = har_list["result"].get("structuredContent", {}).get("logins", [])
        for login in har_logins:
            await call("analyze_har", {"path": har, "login": login["login"]})

        # Bad arguments: each must be an error answer (or a protocol error), never a crash.
        await call("show_login", {"login": "ffffffffffffffff"})
        await call("show_login", {"login": "not an id"})
        await call("show_exchange", {"id": "0123456789abcdef"})
        await call("show_exchange", {"id": "../../etc/passwd"})
        await call("export_report", {"login": "ffffffffffffffff"})
        await call("diff_logins", {"a": "ffffffffffffffff", "b": "ffffffffffffffff"})
        await call("analyze_har", {"path": not_har})
        await call("analyze_har", {"path": home + "/no-such-file.har"})
        await call("analyze_har", {"path": "-"})
        await call("analyze_har", {"path": har, "login": "nope"})
        await call("explain_code", {"code": "no_such_error_code_xyz"})
        await call("list_logins", {"limit": 0})
        await call("list_logins", {"cursor": "zz"})
        await call("list_logins", {"since": "yesterday"})
        await call("list_logins", {"outcome": "maybe"})
        await call("show_login", {})
        await call("show_exchange", {"id": 42})
        # Still serving after all of that.
        await call("list_logins", {"outcome": "failed"})

    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"tools": listed, "calls": calls}, f, ensure_ascii=False, indent=1)


asyncio.run(main())
