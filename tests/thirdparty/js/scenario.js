"use strict";
// The official @intacct/intacct-sdk, unchanged, against the emulator whose URL is argv[2].
//
// The SDK refuses endpoints outside *.intacct.com, but only where it builds credentials
// (Credentials/Endpoint.js, called from SenderCredentials and SessionCredentials). The request
// handler posts to ClientConfig.endpointUrl as given. So each client builds its credentials while
// endpointUrl is unset, then sets endpointUrl to the emulator: the SDK's public configuration only.
//
// Prints one JSON line with what it saw; exits non-zero on any unexpected answer.

const assert = require("assert");
const IA = require("@intacct/intacct-sdk");

const SENDER = { senderId: "demo_sender", senderPassword: "demo_sender_pw" };
const USER = { companyId: "demo_company", userId: "demo_user", userPassword: "demo_password" };

function loginClient(url, password) {
  const config = new IA.ClientConfig();
  Object.assign(config, SENDER, USER, { userPassword: password });
  config.credentials = new IA.Credentials.LoginCredentials(config, new IA.Credentials.SenderCredentials(config));
  config.endpointUrl = url;
  return new IA.OnlineClient(config);
}

function sessionClient(sessionId, endpoint) {
  const config = new IA.ClientConfig();
  Object.assign(config, SENDER, { sessionId });
  config.credentials = new IA.Credentials.SessionCredentials(config, new IA.Credentials.SenderCredentials(config));
  config.endpointUrl = endpoint;
  return new IA.OnlineClient(config);
}

async function rejected(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the request to be refused");
}

function errornos(error) {
  return (error.errors || []).map((text) => String(text));
}

async function main() {
  const url = process.argv[2];
  const suffix = process.argv[3];
  const seen = {};

  const badLogin = await rejected(loginClient(url, "wrong").execute(new IA.Functions.ApiSessionCreate()));
  assert.ok(badLogin instanceof IA.Exceptions.ResponseException, String(badLogin));
  seen.badLogin = errornos(badLogin);

  const login = await loginClient(url, USER.userPassword).execute(new IA.Functions.ApiSessionCreate());
  const api = login.getResult().data[0];
  assert.ok(api.sessionid);
  seen.endpoint = api.endpoint;
  seen.sessionTimeout = login.authentication.sessionTimeout;
  const client = sessionClient(api.sessionid, api.endpoint);

  const customerId = `JS-${suffix}`;
  const create = new IA.Functions.AccountsReceivable.CustomerCreate();
  create.customerId = customerId;
  create.customerName = `JS customer ${suffix}`;
  create.printAs = create.customerName; // Intacct requires DISPLAYCONTACT/PRINTAS on create
  create.primaryEmailAddress = "js@example.invalid";
  const created = (await client.execute(create)).getResult();
  created.ensureStatusSuccess();
  seen.created = created.data[0];

  const read = new IA.Functions.Common.ReadByQuery();
  read.objectName = "CUSTOMER";
  read.fields = ["RECORDNO", "CUSTOMERID", "NAME", "DISPLAYCONTACT.EMAIL1"];
  read.query = new IA.Functions.Common.Query.QueryString(`CUSTOMERID = '${customerId}'`);
  const readResult = (await client.execute(read)).getResult();
  readResult.ensureStatusSuccess();
  seen.read = { count: readResult.count, totalCount: readResult.totalCount, rows: readResult.data };

  const update = new IA.Functions.AccountsReceivable.CustomerUpdate();
  update.customerId = customerId;
  update.customerName = `JS customer ${suffix} renamed`;
  (await client.execute(update)).getResult().ensureStatusSuccess();

  const query = new IA.Functions.Common.NewQuery.Query()
    .assignFromObject("CUSTOMER")
    .assignSelectFields(new IA.Functions.Common.NewQuery.QuerySelect.SelectBuilder().addFields(["CUSTOMERID", "NAME"]).selects)
    .assignFilter(new IA.Functions.Common.NewQuery.QueryFilter.Filter("CUSTOMERID").equalTo(customerId));
  const queried = (await client.execute(query)).getResult();
  queried.ensureStatusSuccess();
  seen.queried = queried.data;

  const duplicate = await rejected(client.execute(create));
  assert.ok(duplicate instanceof IA.Exceptions.ResultException, String(duplicate));
  seen.duplicate = errornos(duplicate);

  const entry = new IA.Functions.GeneralLedger.JournalEntryCreate();
  entry.journalSymbol = "GJ";
  entry.postingDate = new Date(2026, 10, 28);
  entry.description = `JS journal ${suffix}`;
  entry.lines = [["6000", 125.5], ["1000", -125.5]].map(([account, amount]) => {
    const line = new IA.Functions.GeneralLedger.JournalEntryLineCreate();
    line.glAccountNumber = account;
    line.transactionAmount = amount;
    return line;
  });
  const journal = (await client.execute(entry)).getResult();
  journal.ensureStatusSuccess();
  seen.journal = journal.data[0];

  const batch = await client.executeBatch(
    [new IA.Functions.AccountsReceivable.CustomerDelete(), new IA.Functions.AccountsReceivable.CustomerDelete()].map(
      (del, index) => {
        del.customerId = index === 0 ? customerId : `${customerId}-missing`;
        return del;
      },
    ),
  );
  seen.deleted = batch.results.map((result) => result.status);

  console.log(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
