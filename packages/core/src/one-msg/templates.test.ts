import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEMPLATE, type FakeTemplate } from "../simulator/one-msg-fake.js";
import { type OneMsgSimulator, startOneMsgSimulator } from "../simulator/server.js";
import type { OneMsgClient, OneMsgResponse, RequestOptions } from "./client.js";
import { createOneMsgClient } from "./client.js";
import {
  FIXTURE_TEMPLATE,
  listedTemplate,
  OTP_COPY_CODE_BUTTON,
  OTP_ZERO_TAP_BUTTON,
  TEMPLATE_LISTING_ERROR,
  TEMPLATE_LISTINGS,
  URL_COPY_CODE_BUTTON,
  URL_ONE_TAP_BUTTON,
} from "./fixtures/templates.js";
import {
  checkTemplate,
  checkTemplates,
  codeButton,
  listTemplates,
  type NormalTemplate,
  normalizeTemplate,
  normalizeTemplatePage,
} from "./templates.js";

const EXPECTED = { ...FIXTURE_TEMPLATE };

function normal(overrides: Record<string, unknown> = {}, button?: Record<string, unknown>) {
  return normalizeTemplate(listedTemplate(overrides, button)) as NormalTemplate;
}

/** A client that answers each `GET templates` with `answer(limit, offset)`, and counts calls. */
function pagedClient(answer: (limit: number, offset: number) => unknown) {
  const calls: RequestOptions[] = [];
  const client: Pick<OneMsgClient, "request"> = {
    async request(options): Promise<OneMsgResponse> {
      calls.push(options);
      const json = answer(Number(options.query?.limit), Number(options.query?.offset));
      const data =
        typeof json === "object" && json !== null && !Array.isArray(json)
          ? (json as Record<string, unknown>)
          : {};
      return { status: 200, data, json };
    },
  };
  return { client, calls };
}

const named = (n: number) =>
  Array.from({ length: n }, (_, i) => listedTemplate({ name: `t_${String(i).padStart(3, "0")}` }));

describe("normalizeTemplatePage", () => {
  it.each(Object.entries(TEMPLATE_LISTINGS))("reads a listing with %s (%#)", (_, { body }) => {
    const page = normalizeTemplatePage(body);
    expect(page.error).toBeUndefined();
    const ours = page.templates.find((t) => t.name === FIXTURE_TEMPLATE.name);
    expect(ours).toMatchObject({ language: "en" });
    expect(ours?.components.map((c) => c.type)).toEqual(["BODY", "FOOTER", "BUTTONS"]);
  });

  it("keeps `total`, reads `message_template_namespace` and `language: { code }`", () => {
    const page = normalizeTemplatePage({
      total: "7",
      templates: [
        listedTemplate({
          namespace: undefined,
          message_template_namespace: "ns_1",
          language: { code: "pt_BR" },
        }),
        { language: "en" },
        "junk",
      ],
    });
    expect(page.total).toBe(7);
    expect(page.templates).toHaveLength(1);
    expect(page.templates[0]).toMatchObject({ namespace: "ns_1", language: "pt_BR" });
  });

  it("turns a 200 that carries an error into `error`, in both error forms", () => {
    expect(normalizeTemplatePage(TEMPLATE_LISTING_ERROR.body).error).toBe(
      TEMPLATE_LISTING_ERROR.message,
    );
    expect(normalizeTemplatePage({ error: { code: 5, message: "Instance not paid" } }).error).toBe(
      "Instance not paid",
    );
    expect(normalizeTemplatePage({ something: "else" }).error).toMatch(/without a template list/);
    expect(normalizeTemplatePage("nope").error).toMatch(/without a template list/);
  });

  it("reads unparseable string components as none", () => {
    expect(normal({ components: "{not json" }).components).toEqual([]);
  });
});

describe("codeButton", () => {
  it.each([
    ["the OTP copy-code form", OTP_COPY_CODE_BUTTON, { kind: "copy_code", form: "otp" }],
    ["Meta's URL copy-code form", URL_COPY_CODE_BUTTON, { kind: "copy_code", form: "url" }],
    ["a one-tap button in the URL form", URL_ONE_TAP_BUTTON, { kind: "one_tap", form: "url" }],
    ["a zero-tap button in the OTP form", OTP_ZERO_TAP_BUTTON, { kind: "zero_tap", form: "otp" }],
    ["the old `type: COPY_CODE`", { type: "COPY_CODE" }, { kind: "copy_code", form: "otp" }],
  ])("finds %s", (_, button, found) => {
    expect(codeButton(normal({}, button))).toEqual({ ...found, index: 0 });
  });

  it("does not take a plain link or a quick reply for a code button", () => {
    expect(
      codeButton(normal({}, { type: "URL", url: "https://shop.example/{{1}}" })),
    ).toBeUndefined();
    expect(codeButton(normal({}, { type: "QUICK_REPLY", text: "Stop" }))).toBeUndefined();
  });
});

describe("checkTemplate", () => {
  const failed = (checks: { ok: boolean; label: string }[]) =>
    checks.filter((c) => !c.ok).map((c) => c.label);

  it("passes a healthy template, status and category in any case", () => {
    expect(failed(checkTemplate(normal(), EXPECTED))).toEqual([]);
    expect(
      failed(checkTemplate(normal({ status: "APPROVED", category: "authentication" }), EXPECTED)),
    ).toEqual([]);
    const otp = checkTemplate(normal({ category: "OTP" }), EXPECTED);
    expect(failed(otp)).toEqual([]);
    expect(otp[1]?.note).toMatch(/older name/);
  });

  it("names each problem", () => {
    const checks = checkTemplate(
      normal(
        {
          status: "rejected",
          category: "MARKETING",
          components: [{ type: "BODY", text: "{{1}} and {{2}}" }],
        },
        undefined,
      ),
      { ...EXPECTED, namespace: "other" },
    );
    expect(failed(checks)).toEqual([
      "template is approved (rejected)",
      "template is in the AUTHENTICATION category (MARKETING)",
      "template body has one variable for the code (2)",
      "template has a copy-code button",
      "ONEMSG_NAMESPACE matches the template's namespace",
    ]);
    expect(checks[4]?.fix).toBe(`set ONEMSG_NAMESPACE=${FIXTURE_TEMPLATE.namespace}`);
  });

  it("wants the code button first: waotp fills index 0", () => {
    const template = normal({
      components: [
        { type: "BODY", text: "{{1}}" },
        { type: "BUTTONS", buttons: [{ type: "QUICK_REPLY", text: "Help" }, OTP_COPY_CODE_BUTTON] },
      ],
    });
    const check = checkTemplate(template, EXPECTED)[3];
    expect(check).toMatchObject({ ok: false, fix: expect.stringMatching(/index 0/) });
  });

  it("borrows the namespace from the account's other templates, and says when there is none", () => {
    const bare = normal({ namespace: undefined });
    const sibling = normal({ name: "other" });
    expect(checkTemplate(bare, EXPECTED, [bare, sibling])[4]).toMatchObject({
      ok: true,
      label:
        "ONEMSG_NAMESPACE matches the template's namespace (read from the channel's other templates)",
    });
    expect(checkTemplate(bare, EXPECTED, [bare])[4]).toMatchObject({
      ok: true,
      note: expect.stringMatching(/not compared/),
    });
    expect(checkTemplate(bare, { ...EXPECTED, namespace: "" }, [bare])[4]).toMatchObject({
      ok: false,
      fix: expect.stringMatching(/1MSG dashboard/),
    });
  });
});

describe("checkTemplates", () => {
  it("passes every listing shape", () => {
    for (const { body } of Object.values(TEMPLATE_LISTINGS)) {
      const { checks } = checkTemplates(normalizeTemplatePage(body).templates, EXPECTED);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks).toHaveLength(6);
    }
  });

  it("suggests the languages the template exists in, or the templates there are", () => {
    const templates = [normal({ language: "pt_BR" }), normal({ name: "other" })];
    expect(checkTemplates(templates, EXPECTED).checks).toEqual([
      expect.objectContaining({ ok: false, fix: "set ONEMSG_LANGUAGE to one of: pt_BR" }),
    ]);
    expect(checkTemplates([], EXPECTED).checks[0]?.fix).toMatch(/templates here: none$/);
  });
});

describe("listTemplates", () => {
  let sim: OneMsgSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("reads every page of the simulator", async () => {
    const templates: FakeTemplate[] = Array.from({ length: 45 }, (_, i) => ({
      ...DEFAULT_TEMPLATE,
      name: `t_${i}`,
    }));
    sim = await startOneMsgSimulator({ templates });
    const client = createOneMsgClient({
      baseUrl: sim.url,
      channelId: sim.channelId,
      token: sim.token,
    });
    const list = await listTemplates(client, { pageSize: 20 });
    expect(list).toMatchObject({ total: 45, pages: 3, complete: true });
    expect(list.templates.map((t) => t.name)).toEqual(templates.map((t) => t.name));
  });

  it("goes on past pages shorter than asked while `total` is not reached", async () => {
    const all = named(45);
    const { client, calls } = pagedClient((_, offset) => ({
      total: 45,
      templates: all.slice(offset, offset + 20),
    }));
    const list = await listTemplates(client, { pageSize: 100 });
    expect(list.templates).toHaveLength(45);
    expect(calls.map((c) => c.query)).toEqual([
      { limit: "100", offset: "0" },
      { limit: "100", offset: "20" },
      { limit: "100", offset: "40" },
    ]);
  });

  it("stops at a short page when there is no total", async () => {
    const { client, calls } = pagedClient((limit, offset) =>
      named(130).slice(offset, offset + limit),
    );
    const list = await listTemplates(client, { pageSize: 50 });
    expect(list.templates).toHaveLength(130);
    expect(calls).toHaveLength(3);
  });

  it("stops when the server ignores offset or limit", async () => {
    const sameEveryTime = pagedClient(() => named(10));
    expect(await listTemplates(sameEveryTime.client, { pageSize: 10 })).toMatchObject({
      complete: true,
    });
    expect(sameEveryTime.calls).toHaveLength(2);
    const everything = pagedClient(() => ({ templates: named(150) }));
    expect((await listTemplates(everything.client, { pageSize: 100 })).templates).toHaveLength(150);
    expect(everything.calls).toHaveLength(1);
  });

  it("never loops forever", async () => {
    let n = 0;
    const endless = pagedClient((limit) =>
      Array.from({ length: limit }, () => listedTemplate({ name: `t_${n++}` })),
    );
    const list = await listTemplates(endless.client, { pageSize: 5, maxPages: 4 });
    expect(list).toMatchObject({ complete: false, pages: 4 });
    expect(endless.calls).toHaveLength(4);
  });

  it("gives back the error a page carries", async () => {
    const { client } = pagedClient((_, offset) =>
      offset === 0 ? { total: 4, templates: named(2) } : TEMPLATE_LISTING_ERROR.body,
    );
    const list = await listTemplates(client, { pageSize: 2 });
    expect(list).toMatchObject({ error: TEMPLATE_LISTING_ERROR.message, complete: false });
  });
});
