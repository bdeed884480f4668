import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { tinyLlmService } from '../helpers/tiny-llm.js';
import { startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { axeProblems, ensureUiBuilt, launch, open, shot, signIn, skipReason, type Session } from './browser.js';

describe('LLM chat playground against a real inferd serve (random-weight GGUF)', { skip: skipReason() }, () => {
  let srv: InferdProcess;
  let admin: string;
  let browser: Browser;
  let s: Session;

  before(async () => {
    ensureUiBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'inferd-ui-llm-'));
    writeFileSync(join(dir, 'models.yaml'), tinyLlmService(dir, 7, ['--max-model-len', '1024', '--max-num-seqs', '2']));
    const dataDir = join(dir, 'data');
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--auth', 'keys'], { dataDir });
    admin = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    await waitReady(srv.http, 60_000);
    browser = await launch();
    s = await open(browser, srv.http);
    await signIn(s.page, srv.http, admin);
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('streams a reply from /v1/chat/completions (stream: true) into the conversation', async () => {
    const streamed: string[] = [];
    s.page.on('response', (r) => {
      if (r.url().endsWith('/v1/chat/completions')) streamed.push(`${r.request().postData() ?? ''} ${r.headers()['content-type'] ?? ''}`);
    });
    await s.page.goto(`${srv.http}/ui/#/try/default/tiny`);
    await s.page.getByTestId('chat').waitFor();
    await s.page.getByTestId('max-tokens').fill('24');
    await s.page.getByTestId('prompt').fill('hello there');
    await s.page.getByTestId('send').click();
    const reply = s.page.getByTestId('turn-assistant');
    await reply.getByTestId('finish').waitFor({ timeout: 30_000 });
    const text = (await reply.locator('.turn-text').innerText()).trim();
    assert.ok(text.length > 0, 'some tokens arrived');
    assert.equal(streamed.length, 1);
    assert.match(streamed[0]!, /"stream":true/);
    assert.match(streamed[0]!, /"max_tokens":24/);
    assert.match(streamed[0]!, /text\/event-stream/);
    await shot(s.page, 'playground');
  });

  it('constrains the answer with a JSON schema (response_format json_schema)', async () => {
    await s.page.getByRole('button', { name: 'Clear' }).click();
    await s.page.getByLabel('JSON schema for the answer (optional)').fill('{"type":"object","properties":{"answer":{"type":"string","enum":["yes","no"]}},"required":["answer"]}');
    await s.page.getByTestId('max-tokens').fill('40');
    await s.page.getByTestId('prompt').fill('yes or no?');
    await s.page.getByTestId('send').click();
    const reply = s.page.getByTestId('turn-assistant');
    await reply.getByTestId('finish').waitFor({ timeout: 30_000 });
    const finish = await reply.getByTestId('finish').innerText();
    const text = (await reply.locator('.turn-text').innerText()).trim();
    // The grammar keeps the output valid JSON unless max_tokens cut it.
    if (!finish.includes('length')) assert.ok(['yes', 'no'].includes((JSON.parse(text) as { answer: string }).answer), text);
    assert.deepEqual(await axeProblems(s.page), []);
  });

  it('shows the tool call the model must make (tools with tool_choice required)', async () => {
    await s.page.getByRole('button', { name: 'Clear' }).click();
    await s.page.getByLabel('JSON schema for the answer (optional)').fill('');
    const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] } }, required: ['city'] } } };
    await s.page.getByTestId('tools').fill(JSON.stringify([tool]));
    await s.page.getByTestId('tool-choice').selectOption('required');
    await s.page.getByTestId('max-tokens').fill('200');
    await s.page.getByTestId('prompt').fill('weather?');
    await s.page.getByTestId('send').click();
    const reply = s.page.getByTestId('turn-assistant');
    await reply.getByTestId('finish').waitFor({ timeout: 30_000 });
    const calls = reply.getByTestId('tool-calls');
    await calls.waitFor();
    const text = await calls.innerText();
    assert.match(text, /tool call get_weather\(/, text);
    const args = JSON.parse(text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'))) as { city: string };
    assert.ok(['Paris', 'Oslo'].includes(args.city), text);
    assert.match(await reply.getByTestId('finish').innerText(), /tool_calls/);
    await s.page.getByTestId('tools').fill('');
  });

  it('says what to do when the schema is not JSON', async () => {
    await s.page.getByLabel('JSON schema for the answer (optional)').fill('{not json');
    await s.page.getByTestId('prompt').fill('hi');
    await s.page.getByTestId('send').click();
    await s.page.getByTestId('error').getByText('fix it or clear the field').waitFor();
    assert.deepEqual(s.foreign, []);
  });
});
